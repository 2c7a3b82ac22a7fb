import type { BodyEncoding, HttpRequestDefinition, HttpRequestMethod } from "../http-request/definition";
import type { PreviewHeader } from "../http-request/preview";
import type { DefinitionProblem } from "../http-request/render-request";
import type { RequestTestResult } from "../http-request/editor.server";

/**
 * The HTTP-request editor's form as the browser holds it, and what it sends: the definition as JSON, and
 * only the secret values the merchant typed (a stored one is kept by sending nothing for it, removed by
 * sending an empty value).
 */

export interface FormHeader {
  /** Stable React key. */
  key: string;
  name: string;
  secret: boolean;
  /** A plain header's template, or a secret value as typed ("" keeps a stored one). */
  value: string;
  /** A value for this secret header is stored on the server (edit form only). */
  stored: boolean;
}

export interface EditorForm {
  name: string;
  method: HttpRequestMethod;
  url: string;
  headers: FormHeader[];
  bodyEncoding: BodyEncoding;
  body: string;
}

let keys = 0;
export function headerKey(): string {
  keys += 1;
  return `h${keys}`;
}

export const BLANK_BODY = `{
  "email": {{ email | json }},
  "product": {{ product.title | json }},
  "consent": {{ consent.given | json }}
}`;

export function blankForm(name = ""): EditorForm {
  return { name, method: "POST", url: "", headers: [], bodyEncoding: "json", body: BLANK_BODY };
}

/** The definition as validated and saved on the server: secret headers carry no value. */
export function definitionOf(form: EditorForm): HttpRequestDefinition {
  return {
    method: form.method,
    url: form.url.trim(),
    headers: form.headers.map((h) => (h.secret ? { name: h.name.trim(), secret: true as const } : { name: h.name.trim(), secret: false as const, value: h.value })),
    bodyEncoding: form.bodyEncoding,
    body: form.body,
  };
}

/**
 * The secret values to send: each typed one, and an empty value for every stored secret header that is
 * no longer a secret header of the form (removed, renamed or made plain), so that it is not kept.
 */
export function secretValuesOf(form: EditorForm, storedNames: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  const current = new Set(form.headers.filter((h) => h.secret).map((h) => h.name.trim().toLowerCase()));
  for (const name of storedNames) if (!current.has(name.toLowerCase())) values[name] = "";
  for (const h of form.headers) if (h.secret && h.value !== "") values[h.name.trim()] = h.value;
  return values;
}

/** What the editor's action answers, by intent. Only a new destination's save carries a secret. */
export type EditorActionData =
  | { intent: "preview"; ok: true; request: { method: string; url: string; headers: PreviewHeader[]; body: string; bodyBytes: number }; basedOn: "latest_lead" | "sample_lead" }
  | { intent: "preview" | "send_test" | "save"; ok: false; problems: DefinitionProblem[] }
  | { intent: "send_test"; ok: true; result: RequestTestResult }
  | { intent: "save"; ok: true; destinationId: string; secret: string | null }
  | { intent: string; error: string };

export function problemsOf(data: unknown): DefinitionProblem[] | null {
  return data && typeof data === "object" && "problems" in data && Array.isArray(data.problems) ? (data.problems as DefinitionProblem[]) : null;
}
