import { buildUserAgent } from "../../delivery/signing";
import { SECRET_MASK, type HttpRequestDefinition, type HttpRequestMethod, type SecretHeaderValues } from "./definition";
import { buildRequest, secretValueFor, type DefinitionProblem } from "./render-request";
import type { TemplateFields } from "./template-fields";

/**
 * The preview the merchant checks before relying on a destination: the exact request for a lead
 * (method, URL, every header as sent, body), with secret header values masked. Secret values are never
 * needed to preview: without them the masked header is shown all the same.
 */

export interface PreviewHeader {
  name: string;
  /** The value as sent, or SECRET_MASK for a secret header. */
  value: string;
  secret: boolean;
}

export interface RequestPreview {
  method: HttpRequestMethod;
  url: string;
  headers: PreviewHeader[];
  body: string;
  /** UTF-8 bytes of the body (the Content-Length header). */
  bodyBytes: number;
}

export type PreviewResult = { ok: true; request: RequestPreview } | { ok: false; problems: DefinitionProblem[] };

export function previewHttpRequest(
  definition: HttpRequestDefinition,
  fields: TemplateFields,
  secretValues: SecretHeaderValues = {},
): PreviewResult {
  // Only whether a usable value exists matters here; a missing one is previewed masked all the same.
  const built = buildRequest(definition, fields, (name) => secretValueFor(secretValues, name) || "x");
  if (!built.ok) return { ok: false, problems: built.problems };
  const { request } = built;
  const bodyBytes = Buffer.byteLength(request.body, "utf8");
  const headers: PreviewHeader[] = request.headers.map((h) => ({ name: h.name, value: h.secret ? SECRET_MASK : h.value, secret: h.secret }));
  // What the sender adds on the wire.
  if (!headers.some((h) => h.name === "user-agent")) headers.push({ name: "user-agent", value: buildUserAgent(), secret: false });
  headers.push({ name: "content-length", value: String(bodyBytes), secret: false });
  return { ok: true, request: { method: request.method, url: request.url, headers, body: request.body, bodyBytes } };
}
