/**
 * The words of an alert email to the merchant: which destination, since when, how many leads wait, what went
 * wrong, and a link into the app. It names the destination by its name, kind and host only: never a full URL
 * (a path or query may carry a token), a secret, a shopper's email or anything of a lead.
 */
import { EMAIL_IN_TEXT } from "../lib/email-text";

export type AlertKind = "failing" | "recovered";

export interface AlertFacts {
  kind: AlertKind;
  shopDomain: string;
  destination: { name: string; kind: string; host: string };
  /** Since when it has been failing (the first failed attempt of the run). */
  failingSince: Date | null;
  /** Paused by the app (410 Gone, a rejected key): nothing is sent until the merchant acts. */
  paused: boolean;
  /** Still active, but it refused the credentials the app sends (an HTTP request's 401 or 403): every lead fails at once. */
  credentialsRejected?: boolean;
  /** Leads waiting to be sent to it. */
  waitingLeads: number;
  /** Leads whose attempts ran out since it started failing (they can be sent again from the delivery log). */
  failedLeads: number;
  /** The last error, in the words the delivery log shows; cleaned again here. */
  lastError: string | null;
  /** Where the merchant manages the destination in the Shopify admin. */
  link: string;
  now: Date;
}

export interface AlertMessage {
  subject: string;
  text: string;
  html: string;
}

const KIND_NAMES: Record<string, string> = { webhook: "Signed webhook", klaviyo: "Klaviyo", http_request: "HTTP request" };

export function kindName(kind: string): string {
  return KIND_NAMES[kind] ?? "Destination";
}

/** The host of a destination URL (`hooks.example.com`), never its path, query or credentials. */
export function hostOf(url: string): string {
  try {
    return new URL(url).hostname || "unknown host";
  } catch {
    return "unknown host";
  }
}

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s<>"']+/gi;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const LONG_TOKEN = /\b[A-Za-z0-9_+/=-]{32,}\b/g;

/**
 * An error message fit for an email: URLs shortened to their host, anything that looks like an email, a
 * credential or a long token removed, one line, bounded.
 */
export function cleanError(message: string): string {
  return message
    .replace(URL_PATTERN, (match) => hostOf(match.replace(/[.,;:)]+$/, "")))
    .replace(EMAIL_IN_TEXT, "[email]")
    .replace(BEARER, "$1 [hidden]")
    .replace(LONG_TOKEN, "[hidden]")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

const when = new Intl.DateTimeFormat("en", {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC",
});

function at(date: Date): string {
  return `${when.format(date)} UTC`;
}

/** `2 hours 5 minutes`, `45 minutes`, `3 days 4 hours`. */
export function durationInWords(ms: number): string {
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes < 60) return plural(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${plural(hours, "hour")} ${plural(minutes % 60, "minute")}` : plural(hours, "hour");
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${plural(days, "day")} ${plural(hours % 24, "hour")}` : plural(days, "day");
}

function leads(n: number): string {
  return n === 1 ? "1 lead" : `${n} leads`;
}

export function composeAlert(facts: AlertFacts): AlertMessage {
  const { destination } = facts;
  const label = `${destination.name} (${kindName(destination.kind)}, ${destination.host})`;
  const store = facts.shopDomain.replace(/\.myshopify\.com$/, "");
  const lines: string[] = [];
  let subject: string;
  if (facts.kind === "failing") {
    subject = facts.paused
      ? `Leads are not reaching ${destination.name}: it was paused`
      : facts.credentialsRejected
        ? `Leads are not reaching ${destination.name}: its credentials were rejected`
        : `Leads are not reaching ${destination.name}`;
    lines.push(`Try-on leads from ${store} are not reaching ${label}.`, "");
    if (facts.failingSince) {
      lines.push(`Failing since: ${at(facts.failingSince)} (${durationInWords(facts.now.getTime() - facts.failingSince.getTime())} ago).`);
    }
    lines.push(`Leads waiting to be sent: ${facts.waitingLeads}.`);
    if (facts.failedLeads > 0) {
      lines.push(`${leads(facts.failedLeads)} could not be sent since then; you can send them again from the delivery log.`);
    }
    if (facts.lastError) lines.push(`Last error: ${cleanError(facts.lastError)}`);
    lines.push("");
    lines.push(
      facts.paused
        ? "The app paused this destination because it refused the leads (gone, or the key or credentials were rejected). " +
          "Nothing is sent to it until you fix the setting and resume it. Leads are kept meanwhile."
        : facts.credentialsRejected
          ? "The receiver refused the API key or token the app sends, so each new lead fails at once. Update it in the " +
            "destination's headers, then send the failed leads again from the delivery log."
          : "Leads are kept and retried on schedule. If the receiving tool is down or its settings changed, fix it there; " +
          "the app sends the waiting leads as soon as it answers.",
    );
  } else {
    subject = `${destination.name} is receiving leads again`;
    lines.push(`Try-on leads from ${store} are reaching ${label} again.`, "");
    lines.push(`Leads still waiting to be sent: ${facts.waitingLeads}; they go out on their own now.`);
    if (facts.failedLeads > 0) {
      lines.push(`${leads(facts.failedLeads)} ran out of attempts while it was failing; send them again from the delivery log.`);
    }
  }
  lines.push("", `Open it in the app: ${facts.link}`, "");
  lines.push("You get this email because alerts are on in the app's Settings. You can change the address or turn them off there.");
  const text = lines.join("\n");
  return { subject, text, html: htmlOf(lines, facts.link) };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

/** The same lines as simple HTML, with the link clickable. */
function htmlOf(lines: string[], link: string): string {
  const paragraphs = lines
    .join("\n")
    .split(/\n{2,}/)
    .map((block) => {
      const html = block.split("\n").map((line) => {
        const escaped = escapeHtml(line);
        return line.includes(link) ? escaped.replace(escapeHtml(link), `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`) : escaped;
      });
      return `<p>${html.join("<br>")}</p>`;
    });
  return `<!doctype html><html><body style="font-family: -apple-system, Segoe UI, Roboto, sans-serif; font-size: 14px; line-height: 1.5">${paragraphs.join("")}</body></html>`;
}
