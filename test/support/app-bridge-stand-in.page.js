/*
 * A local stand-in for Shopify's App Bridge script (cdn.shopify.com/shopifycloud/app-bridge.js), served
 * to the browser in tests instead of the real one, which needs the Shopify admin around the app.
 *
 * It provides the parts of `window.shopify` the app uses and behaves like App Bridge towards the
 * server: every same-origin `fetch` carries `Authorization: Bearer <session token>`, and a 401 marked
 * with X-Shopify-Retry-Invalid-Session-Request is retried once with a new token. Session tokens come
 * from `window.appBridgeStandInIdToken()`, which the test exposes to the page and which mints a token
 * in Node (as the admin would), so each request gets a fresh one.
 *
 * The admin-chrome elements (`ui-nav-menu`, `ui-title-bar`, …) render in the admin, not in the app's
 * frame; here they are defined as inert, hidden elements.
 */
(() => {
  if (window.shopify) return;
  const script = document.currentScript;
  const params = new URLSearchParams(location.search);
  const record = { idTokenCalls: 0, authorizedFetches: [], toasts: [], resourcePickers: [] };

  async function idToken() {
    record.idTokenCalls += 1;
    if (typeof window.appBridgeStandInIdToken !== "function") throw new Error("App Bridge stand-in: no session token source");
    return window.appBridgeStandInIdToken();
  }

  const nativeFetch = window.fetch.bind(window);
  window.fetch = async function fetchWithSessionToken(input, init) {
    const base = new Request(input, init);
    if (new URL(base.url).origin !== location.origin) return nativeFetch(base);
    const attempt = async () => {
      const headers = new Headers(base.headers);
      headers.set("Authorization", `Bearer ${await idToken()}`);
      record.authorizedFetches.push(base.method + " " + new URL(base.url).pathname);
      return nativeFetch(new Request(base.clone(), { headers }));
    };
    const response = await attempt();
    if (response.status === 401 && response.headers.get("X-Shopify-Retry-Invalid-Session-Request") === "1") {
      return attempt();
    }
    return response;
  };

  let toastId = 0;
  window.shopify = {
    config: {
      apiKey: script?.dataset.apiKey ?? "",
      host: params.get("host") ?? undefined,
      shop: params.get("shop") ?? undefined,
      locale: "en",
    },
    environment: { embedded: true, mobile: false, pos: false },
    origin: location.origin,
    idToken,
    toast: {
      show(message, options = {}) {
        toastId += 1;
        record.toasts.push({ id: toastId, message, isError: Boolean(options.isError) });
        return String(toastId);
      },
      hide() {},
    },
    loading() {},
    // The picker is a modal of the admin; here the test answers it (`provideResourcePicker`), as a merchant
    // choosing resources would. With no answer given it behaves as a closed picker: undefined.
    async resourcePicker(options = {}) {
      record.resourcePickers.push(JSON.parse(JSON.stringify(options)));
      if (typeof window.appBridgeStandInResourcePicker !== "function") return undefined;
      const selection = await window.appBridgeStandInResourcePicker(options);
      return selection ?? undefined;
    },
  };
  window.appBridgeStandIn = record;

  for (const name of ["ui-nav-menu", "ui-title-bar", "ui-modal", "ui-save-bar"]) {
    if (!customElements.get(name)) customElements.define(name, class extends HTMLElement {});
  }
  const style = document.createElement("style");
  style.textContent = "ui-nav-menu, ui-title-bar, ui-modal, ui-save-bar { display: none !important; }";
  document.head.appendChild(style);
})();
