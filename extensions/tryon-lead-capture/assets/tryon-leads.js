/*
 * Try-on Leads storefront widget. After a virtual try-on result is shown (a `tryon:result` event on
 * document, or TryOnLeads.open(detail)) it asks for the shopper's email with explicit consent and posts
 * the lead to the app through the Shopify app proxy. Markup, strings and product data come from the app
 * embed's Liquid; see the extension's README for the event and the request contract.
 */
(function () {
  "use strict";
  if (window.TryOnLeads && window.TryOnLeads.open) return;
  // Until the widget is ready (or where it is missing) calls are harmless no-ops.
  var api = (window.TryOnLeads = { open: function () { return false; }, close: function () {} });

  var root = document.querySelector("[data-tryon-leads]");
  var config;
  try {
    config = JSON.parse(document.getElementById("tryon-leads-config").textContent);
  } catch (e) {
    return;
  }
  if (!root || !config || !config.product) return;

  var S = config.strings || {};
  var product = config.product;
  var variants = product.variants || [];
  var endpoint = new URL(config.endpoint || "/apps/tryon-leads/capture", location.origin).href;
  var $ = function (sel) { return root.querySelector(sel); };
  var form = $("[data-tol-form]");
  var email = $("#tol-email");
  var consent = $("#tol-consent");
  var button = $("[data-tol-submit]");
  var formError = $("#tol-form-error");
  var success = $("#tol-success");
  var intro = $("#tol-intro");
  var live = document.querySelector("[data-tol-live]");
  var sendLabel = button.textContent;
  var STORE = "tryon-leads:";
  var MAX_TRYON = 2048;

  var tryOn = null;
  var tryOnVariant = "";
  var returnTo = null;
  var done = false;
  var busy = false;
  var retrying = false;
  var lockedUntil = 0;
  var pending = null; // { sig, key, rekeyed }: one submission attempt, kept across its retries

  function load(k) {
    try { return JSON.parse(sessionStorage.getItem(STORE + k)); } catch (e) { return null; }
  }
  function save(k, v) {
    try { sessionStorage.setItem(STORE + k, JSON.stringify(v)); } catch (e) { /* private mode */ }
  }

  // ---- Product and variant ----
  function plainId(v) {
    return v == null ? "" : String(v).replace(/^gid:\/\/shopify\/\w+\//, "");
  }
  function variantById(id) {
    for (var i = 0; i < variants.length; i++) if (plainId(variants[i].id) === id) return variants[i];
    return null;
  }
  function urlVariant() {
    return plainId(new URLSearchParams(location.search).get("variant"));
  }
  function formVariant() {
    var inputs = document.querySelectorAll('form[action*="/cart/add"] [name="id"]');
    for (var i = 0; i < inputs.length; i++) if (variantById(plainId(inputs[i].value))) return plainId(inputs[i].value);
    return "";
  }
  var current = plainId(product.selectedVariantId);
  var seen = { url: urlVariant(), form: formVariant() };
  function setVariant(v) {
    v = plainId(v);
    if (variantById(v)) current = v;
  }
  // Whichever changed last wins: an event or input change, the product form's id, or the URL's ?variant=.
  function pageVariant() {
    var u = urlVariant();
    var f = formVariant();
    if (u && u !== seen.url) setVariant(u);
    if (f && f !== seen.form) setVariant(f);
    seen.url = u;
    seen.form = f;
    return current;
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.name === "id" && t.form && /\/cart\/add/.test(t.form.getAttribute("action") || "")) setVariant(t.value);
  }, true);
  ["variant:change", "variant:changed", "variant:update", "variantChange"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var d = (e && e.detail) || {};
      var v = d.variant || d.resource || d;
      setVariant(v && typeof v === "object" ? v.id || d.variantId : v);
    }, true);
  });

  function productPayload() {
    var id = (variantById(tryOnVariant) && tryOnVariant) || pageVariant();
    var v = variantById(id);
    return {
      id: plainId(product.id),
      title: product.title,
      url: product.url,
      variant: product.hasOnlyDefaultVariant || !v ? null : { id: id, title: v.title },
    };
  }

  // ---- Try-on detail: small, JSON-only, never photo data ----
  var PHOTO = /photo|selfie|upload|portrait|base64|blob|canvas|pixel|(image|file|data)$/i;
  function clean(v, depth) {
    if (v === null || typeof v === "boolean") return v;
    if (typeof v === "number") return isFinite(v) ? v : undefined;
    if (typeof v === "string") return /^(data|blob):/i.test(v) || v.length > 500 ? undefined : v;
    if (typeof v !== "object" || depth > 3) return undefined;
    if (Array.isArray(v)) {
      return v.slice(0, 10).map(function (x) { return clean(x, depth + 1); }).filter(function (x) { return x !== undefined; });
    }
    if (Object.prototype.toString.call(v) !== "[object Object]") return undefined; // File, Blob, nodes, ImageData
    var out = {};
    Object.keys(v).slice(0, 30).forEach(function (k) {
      var c = PHOTO.test(k) ? undefined : clean(v[k], depth + 1);
      if (c !== undefined) out[k] = c;
    });
    return out;
  }
  function size(o) {
    return new TextEncoder().encode(JSON.stringify(o)).length;
  }
  function tryOnPayload(detail) {
    var out = clean(detail, 0);
    if (!out || typeof out !== "object" || Array.isArray(out) || !Object.keys(out).length) return null;
    if (size(out) <= MAX_TRYON) return out;
    var core = {};
    ["productId", "variantId", "resultId", "resultUrl", "model", "vendor"].forEach(function (k) {
      if (out[k] !== undefined && typeof out[k] !== "object") core[k] = out[k];
    });
    return size(core) <= MAX_TRYON ? core : null;
  }

  // ---- Campaign and page ----
  var UTM = ["source", "medium", "campaign", "term", "content"];
  function utm() {
    var q = new URLSearchParams(location.search);
    var out = {};
    var any = false;
    UTM.forEach(function (k) {
      var v = (q.get("utm_" + k) || "").trim().slice(0, 255);
      if (v) { out[k] = v; any = true; }
    });
    if (any) save("utm", out); // the latest campaign landing wins for the rest of the visit
    return any ? out : load("utm") || {};
  }
  utm();
  var PII_KEY = /mail|phone|name|addr|zip|postal|customer|token|passw|secret/i;
  function pageUrl() {
    var u = new URL(location.href);
    var drop = [];
    u.hash = "";
    u.username = u.password = "";
    u.searchParams.forEach(function (v, k) { if (PII_KEY.test(k) || /@/.test(v)) drop.push(k); });
    drop.forEach(function (k) { u.searchParams.delete(k); });
    return u.href.slice(0, 2048);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // ---- Messages ----
  function announce(msg) {
    if (!live) return;
    live.textContent = "";
    setTimeout(function () { live.textContent = msg; }, 50); // a fresh change, so a repeat is read again
  }
  function errorFor(input) {
    return $("#" + input.id + "-error");
  }
  function fieldError(input, msg) {
    var el = errorFor(input);
    el.textContent = msg;
    el.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", el.id);
  }
  function clearError(input) {
    var el = errorFor(input);
    el.textContent = "";
    el.hidden = true;
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  function formMessage(msg) {
    formError.textContent = msg || "";
    formError.hidden = !msg;
  }
  function render() {
    var locked = Date.now() < lockedUntil;
    button.textContent = busy ? S.sending || sendLabel : retrying ? S.retry || sendLabel : sendLabel;
    if (busy || locked) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // ---- Validation and sending ----
  var EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)*\.[A-Za-z]{2,63}$/;
  function validate() {
    var value = email.value.trim();
    var bad = [];
    if (!value) bad.push([email, S.emailRequired]);
    else if (value.length > 254 || !EMAIL.test(value)) bad.push([email, S.emailInvalid]);
    else clearError(email);
    if (!consent.checked) bad.push([consent, S.consentRequired]);
    else clearError(consent);
    bad.forEach(function (b) { fieldError(b[0], b[1]); });
    if (bad.length) {
      bad[0][0].focus();
      announce(bad.map(function (b) { return b[1]; }).join(" "));
    }
    return !bad.length;
  }

  function post(body) {
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctl) ctl.abort(); }, 15000);
    return fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      signal: ctl ? ctl.signal : undefined,
    }).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try { json = JSON.parse(text); } catch (e) { /* an HTML error page when the app is down */ }
        clearTimeout(timer);
        return { status: res.status, json: json, retryAfter: res.headers.get("Retry-After") };
      });
    }, function (err) {
      clearTimeout(timer);
      throw err;
    });
  }
  // A network error is retried once, after a short pause, with the same idempotency key.
  function postWithRetry(body) {
    return post(body).catch(function () {
      return new Promise(function (r) { setTimeout(r, 700); }).then(function () { return post(body); });
    });
  }

  function submit() {
    if (busy) return;
    if (Date.now() < lockedUntil) {
      formMessage(S.rateLimited);
      announce(S.rateLimited);
      return;
    }
    if (!validate()) return;
    var body = {
      email: email.value.trim(),
      consent: true,
      product: productPayload(),
      tryOn: tryOn,
      utm: utm(),
      pageUrl: pageUrl(),
      locale: String(config.locale || document.documentElement.lang || "en").slice(0, 20),
    };
    var sig = JSON.stringify(body);
    if (!pending || pending.sig !== sig) pending = { sig: sig, key: uuid() }; // same submission: same key
    body.idempotencyKey = pending.key;
    busy = true;
    formMessage("");
    render();
    postWithRetry(body).then(handle, function () { handle(null); });
  }

  function handle(r) {
    busy = false;
    retrying = false;
    var status = r ? r.status : 0;
    var json = (r && r.json) || {};
    if ((status === 200 || status === 201) && json.ok) return succeed();
    if (status === 413 && tryOn) {
      tryOn = null; // too large: send it again without the try-on detail
      return submit();
    }
    if (status === 409 && pending) {
      // The key was already used for another submission: this shopper's lead goes under a fresh key rather
      // than being lost, sent at once the first time; after that the Try again button sends it.
      var first = !pending.rekeyed;
      pending = { sig: pending.sig, key: uuid(), rekeyed: true };
      if (first) return submit();
    }
    if (status === 422) {
      var field = String((json.error && json.error.field) || "").split(".")[0];
      if (field === "email" || field === "consent") {
        var input = field === "email" ? email : consent;
        var msg = field === "email" ? S.emailInvalid : S.consentRequired;
        render();
        fieldError(input, msg);
        input.focus();
        return announce(msg);
      }
    } else if (status === 429) {
      var secs = Number(r.retryAfter);
      if (!(secs >= 0)) secs = (Date.parse(r.retryAfter) - Date.now()) / 1000;
      secs = Math.min(Math.max(secs || 5, 1), 60);
      lockedUntil = Date.now() + secs * 1000;
      setTimeout(render, secs * 1000 + 20);
      render();
      formMessage(S.rateLimited);
      return announce(S.rateLimited);
    } else {
      retrying = true; // network, 5xx, 401/403, 404 (app not running): the same submission can be retried
    }
    render();
    formMessage(S.generic);
    announce(S.generic);
  }

  function succeed() {
    done = true;
    pending = null;
    save("done:" + plainId(product.id), true);
    render();
    form.hidden = true;
    intro.hidden = true;
    success.hidden = false;
    if (!root.hidden) success.focus();
    announce(S.success);
  }

  // ---- Open and close ----
  function open(detail) {
    detail = detail && typeof detail === "object" ? detail : {};
    tryOn = tryOnPayload(detail);
    tryOnVariant = plainId(detail.variantId || (detail.variant && detail.variant.id));
    if (done && !busy) {
      // A new look after a thank-you: ask afresh, consent unticked again.
      done = false;
      consent.checked = false;
      form.hidden = intro.hidden = false;
      success.hidden = true;
      formMessage("");
    }
    if (root.hidden) {
      var active = document.activeElement;
      returnTo = active && active !== document.body ? active : null;
      root.hidden = false;
    }
    if (!root.contains(document.activeElement)) (done ? success : email).focus();
    return true;
  }
  function close() {
    if (root.hidden) return;
    var hadFocus = root.contains(document.activeElement);
    root.hidden = true;
    var to = returnTo;
    returnTo = null;
    if (hadFocus && to && to.isConnected && typeof to.focus === "function") to.focus();
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    submit();
  });
  email.addEventListener("input", function () { if (email.hasAttribute("aria-invalid")) clearError(email); });
  consent.addEventListener("change", function () { if (consent.checked) clearError(consent); });
  $("[data-tol-close]").addEventListener("click", close);
  root.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" && e.key !== "Esc") return;
    e.preventDefault();
    e.stopPropagation(); // close this panel only, not the try-on viewer behind it
    close();
  });
  document.addEventListener("tryon:result", function (e) {
    if (load("done:" + plainId(product.id))) return; // already signed up for this product in this visit
    open(e.detail);
  }, true);

  // Button text readable on the merchant's accent color: black or white, whichever contrasts more.
  var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(getComputedStyle(root).getPropertyValue("--tol-accent").trim());
  if (m) {
    var hex = m[1].length === 3 ? m[1].replace(/./g, "$&$&") : m[1];
    var lum = [0, 2, 4].reduce(function (sum, i, n) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      c = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      return sum + c * [0.2126, 0.7152, 0.0722][n];
    }, 0);
    root.style.setProperty("--tol-on-accent", 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? "#fff" : "#000");
  }

  api.open = open;
  api.close = close;
})();
