import { HTTP_REQUEST_LIMITS } from "./definition";

/**
 * The URL of an HTTP-request destination is one text field, `https://host[:port]/path?query`, in which
 * only the path and query may use Liquid. The scheme, host and port are what the address check vets
 * when the destination is saved, so no lead may change them: they must be literal, and end at a literal
 * `/` or `?` before any Liquid (otherwise `https://api.example.com{{ x }}` could render to another host);
 * and after rendering, the URL must still have exactly that origin.
 */

const LIQUID_MARKERS = /\{\{|\{%/;

export interface UrlTemplateParts {
  /** `https://host[:port]`, as the URL parser normalises it. */
  origin: string;
  hostname: string;
}

export type UrlTemplateSplit = { ok: true; parts: UrlTemplateParts } | { ok: false; problem: string };

/** Splits by URL: a destination sends to the same URL template for every lead. */
const splits = new Map<string, UrlTemplateSplit>();
const MAX_CACHED_SPLITS = 512;

/** The fixed origin of a URL template, or the reason it is not a usable one. */
export function splitUrlTemplate(url: string): UrlTemplateSplit {
  const cached = splits.get(url);
  if (cached) return cached;
  const split = Object.freeze(splitUncached(url));
  if (splits.size >= MAX_CACHED_SPLITS) splits.delete(splits.keys().next().value as string);
  splits.set(url, split);
  return split;
}

function splitUncached(url: string): UrlTemplateSplit {
  if (url.trim() !== url || url.length === 0) return { ok: false, problem: "Enter the URL without spaces around it" };
  if (url.length > HTTP_REQUEST_LIMITS.maxUrlTemplateChars) {
    return { ok: false, problem: `The URL can be at most ${HTTP_REQUEST_LIMITS.maxUrlTemplateChars.toLocaleString("en-US")} characters` };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(url)) return { ok: false, problem: "The URL must be on one line, with no control characters" };
  const scheme = url.match(/^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//);
  if (!scheme || scheme[1].toLowerCase() !== "https") return { ok: false, problem: "The URL must start with https://" };
  const rest = url.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  if (LIQUID_MARKERS.test(authority) || (end === -1 && LIQUID_MARKERS.test(rest))) {
    return { ok: false, problem: "The host of the URL cannot use template variables: only the path and query after the first / can" };
  }
  if (end !== -1 && rest[end] === "#") return { ok: false, problem: "The URL cannot have a #fragment: it is never sent" };
  if (authority.includes("@")) return { ok: false, problem: "The URL cannot contain a user name or password: use a header for credentials" };
  let parsed: URL;
  try {
    parsed = new URL(`https://${authority}/`);
  } catch {
    return { ok: false, problem: "The host of the URL is not valid" };
  }
  if (!parsed.hostname) return { ok: false, problem: "The URL needs a host" };
  return { ok: true, parts: { origin: parsed.origin, hostname: parsed.hostname } };
}

/**
 * Checks a rendered URL against the saved origin: same scheme, host and port, no credentials, no
 * control characters (which the URL parser would silently drop), within the length limit. Returns the
 * URL in its normalised form, ready to send.
 */
export function checkRenderedUrl(rendered: string, origin: string): { ok: true; url: string } | { ok: false; problem: string } {
  if (rendered.length > HTTP_REQUEST_LIMITS.maxRenderedUrlChars) {
    return { ok: false, problem: `The URL renders to more than ${HTTP_REQUEST_LIMITS.maxRenderedUrlChars.toLocaleString("en-US")} characters` };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(rendered)) {
    return { ok: false, problem: "The URL renders with a line break or control character: encode values with | url_encode" };
  }
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    return { ok: false, problem: "The URL does not render to a valid URL" };
  }
  if (url.origin !== origin || url.username || url.password) {
    return { ok: false, problem: `The URL renders to a different host than ${origin}: values in the path must not change the host` };
  }
  url.hash = "";
  return { ok: true, url: url.href };
}
