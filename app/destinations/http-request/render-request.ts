import type { OutboundRequest } from "../../delivery/http-sender.server";
import { bodyProblem } from "./body-rules";
import {
  CONTENT_TYPES, HTTP_REQUEST_LIMITS, IDEMPOTENCY_KEY_HEADER, RESPONSE_READ_BYTES,
  type HttpRequestDefinition, type HttpRequestMethod, type SecretHeaderValues,
} from "./definition";
import { headerValueProblem } from "./header-rules";
import { compileTemplate, renderTemplate, TemplateError } from "./template-engine";
import type { TemplateFields } from "./template-fields";
import { checkRenderedUrl, splitUrlTemplate } from "./url-template";

/**
 * Building the request for one lead. Rendering is deterministic and side-effect free: the same
 * definition, fields and secret values give the same bytes, so every attempt and replay of a delivery
 * sends the same request, and the preview shows exactly what will be sent.
 */

/** One thing wrong with a definition or with what it renders to, for the field it concerns. */
export interface DefinitionProblem {
  /** `method`, `url`, `bodyEncoding`, `body`, `headers.<index>.name`, `headers.<index>.value`. */
  field: string;
  /** Plain words, never a secret value. Template errors start with "Line N, column M:". */
  message: string;
  line?: number;
  column?: number;
  /** Set when a limit was exceeded. */
  limit?: TemplateError["limit"];
}

export interface BuiltHeader {
  /** Lower case, as sent. */
  name: string;
  value: string;
  secret: boolean;
}

export interface BuiltRequest {
  method: HttpRequestMethod;
  url: string;
  headers: BuiltHeader[];
  body: string;
}

export type BuildResult = { ok: true; request: BuiltRequest } | { ok: false; problems: DefinitionProblem[] };

/** The problem a template error makes, with only the details it has. */
export function templateProblem(field: string, error: unknown): DefinitionProblem {
  if (!(error instanceof TemplateError)) throw error;
  const problem: DefinitionProblem = { field, message: error.message };
  if (error.line !== undefined) problem.line = error.line;
  if (error.column !== undefined) problem.column = error.column;
  if (error.limit !== undefined) problem.limit = error.limit;
  return problem;
}

/** Finds a secret value by header name, without regard to case. */
export function secretValueFor(values: SecretHeaderValues, name: string): string | undefined {
  if (Object.hasOwn(values, name)) return values[name];
  const lower = name.toLowerCase();
  const key = Object.keys(values).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : values[key];
}

/**
 * Renders every part of the request and checks what came out. Collects every problem rather than
 * stopping at the first, so a preview can show them all.
 */
export function buildRequest(
  definition: HttpRequestDefinition,
  fields: TemplateFields,
  secretValue: (headerName: string) => string | undefined,
): BuildResult {
  const problems: DefinitionProblem[] = [];

  let url = "";
  const split = splitUrlTemplate(definition.url);
  if (!split.ok) problems.push({ field: "url", message: split.problem });
  else {
    try {
      const rendered = renderTemplate(compileTemplate(definition.url, HTTP_REQUEST_LIMITS.maxUrlTemplateChars), fields, HTTP_REQUEST_LIMITS.maxRenderedUrlChars);
      const checked = checkRenderedUrl(rendered, split.parts.origin);
      if (checked.ok) url = checked.url;
      else problems.push({ field: "url", message: checked.problem });
    } catch (error) {
      problems.push(templateProblem("url", error));
    }
  }

  const headers: BuiltHeader[] = [];
  definition.headers.forEach((header, index) => {
    const field = `headers.${index}.value`;
    let value: string | undefined;
    if (header.secret) {
      value = secretValue(header.name);
      if (value === undefined || value === "") {
        problems.push({ field, message: `Enter the secret value of the ${header.name} header` });
        return;
      }
    } else {
      try {
        value = renderTemplate(compileTemplate(header.value, HTTP_REQUEST_LIMITS.maxHeaderTemplateChars), fields, HTTP_REQUEST_LIMITS.maxHeaderValueChars).trim();
      } catch (error) {
        problems.push(templateProblem(field, error));
        return;
      }
    }
    // A secret's own text never goes into the message.
    const problem = headerValueProblem(value);
    if (problem) problems.push({ field, message: header.secret ? `The secret value of ${header.name}: ${problem}` : `The ${header.name} header renders to a value that cannot be sent: ${problem}` });
    else headers.push({ name: header.name.toLowerCase(), value, secret: header.secret });
  });

  let body = "";
  try {
    body = renderTemplate(compileTemplate(definition.body, HTTP_REQUEST_LIMITS.maxBodyTemplateChars), fields, HTTP_REQUEST_LIMITS.maxBodyBytes);
    const bytes = Buffer.byteLength(body, "utf8");
    const problem = bytes > HTTP_REQUEST_LIMITS.maxBodyBytes
      ? `The body renders to ${bytes.toLocaleString("en-US")} bytes; the limit is ${HTTP_REQUEST_LIMITS.maxBodyBytes.toLocaleString("en-US")}`
      : bodyProblem(body, definition.bodyEncoding);
    if (problem) problems.push({ field: "body", message: problem, ...(bytes > HTTP_REQUEST_LIMITS.maxBodyBytes ? { limit: "output" as const } : {}) });
  } catch (error) {
    problems.push(templateProblem("body", error));
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    request: {
      method: definition.method,
      url,
      headers: [
        { name: "content-type", value: CONTENT_TYPES[definition.bodyEncoding], secret: false },
        { name: IDEMPOTENCY_KEY_HEADER, value: fields.delivery_id, secret: false },
        ...headers,
      ],
      body,
    },
  };
}

/** The request could not be built for this lead; `problems` say why in plain words. */
export class HttpRequestRenderError extends Error {
  /** False only when a render ran out of time, which may not happen on the next attempt. */
  readonly permanent: boolean;

  constructor(readonly problems: DefinitionProblem[]) {
    super(problems.map((p) => p.message).join("; "));
    this.name = "HttpRequestRenderError";
    this.permanent = !problems.every((p) => p.limit === "time");
  }
}

/**
 * The request to send for one delivery: the definition rendered over the lead's fields, the secret
 * header values added as given, `Content-Type` from the body encoding and `Idempotency-Key` set to the
 * delivery id. Throws HttpRequestRenderError when the definition does not render for this lead.
 */
export function renderHttpRequest(
  definition: HttpRequestDefinition,
  fields: TemplateFields,
  secretValues: SecretHeaderValues,
): OutboundRequest {
  const built = buildRequest(definition, fields, (name) => secretValueFor(secretValues, name));
  if (!built.ok) throw new HttpRequestRenderError(built.problems);
  return {
    method: built.request.method,
    url: built.request.url,
    headers: Object.fromEntries(built.request.headers.map((h) => [h.name, h.value])),
    body: built.request.body,
    maxResponseBytes: RESPONSE_READ_BYTES,
  };
}
