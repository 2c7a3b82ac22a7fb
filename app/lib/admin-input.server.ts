import { BodyTooLargeError, readBodyWithLimit } from "./read-body.server";
import { ADMIN_FORM_RULE, checkText, decodeUtf8, InputRefusedError, parseFormEncoded, type TextRule } from "./input-policy";

/**
 * How every admin route reads what the client sent: the query string, the form body of an action and
 * route parameters, all held to the input policy. Anything unreadable is answered here, with a JSON error
 * naming the field (`{ error: { field, message } }`), thrown as a Response so that no route goes on with
 * half-read input: 400 for text the policy refuses, 413 for a body over the limit, 415 for a body that
 * is not a URL-encoded form. The app's own forms and fetchers send URL-encoded forms only.
 */

export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export function refusal(status: number, field: string, message: string): Response {
  return Response.json({ error: { field, message } }, { status, headers: { "Cache-Control": "no-store" } });
}

function refusalOf(error: unknown): Response {
  if (error instanceof InputRefusedError) return refusal(400, error.field, error.message);
  if (error instanceof BodyTooLargeError) return refusal(413, "body", error.message);
  throw error;
}

/** The request's query parameters, checked. */
export function readAdminQuery(request: Request): URLSearchParams {
  try {
    return parseFormEncoded(new URL(request.url).search.slice(1), { ...ADMIN_FORM_RULE, source: "query" });
  } catch (error) {
    throw refusalOf(error);
  }
}

/** What a form with long fields (templates) may hold beyond the defaults. */
export interface AdminFormLimits {
  /** @defaultValue MAX_ADMIN_BODY_BYTES */
  maxBytes?: number;
  /** Fields allowed to be longer than the default, with their own rule. */
  longFields?: Readonly<Record<string, TextRule>>;
}

/** An admin action's form fields, checked. An empty body without a content type is an empty form. */
export async function readAdminForm(request: Request, limits: AdminFormLimits = {}): Promise<URLSearchParams> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  let bytes: Buffer;
  try {
    bytes = await readBodyWithLimit(request, limits.maxBytes ?? MAX_ADMIN_BODY_BYTES);
  } catch (error) {
    throw refusalOf(error);
  }
  if (type !== "application/x-www-form-urlencoded" && !(type === "" && bytes.length === 0)) {
    throw refusal(415, "body", "Send the form as application/x-www-form-urlencoded");
  }
  try {
    return parseFormEncoded(decodeUtf8(bytes, "body"), { ...ADMIN_FORM_RULE, source: "body", longFields: limits.longFields });
  } catch (error) {
    throw refusalOf(error);
  }
}

/** A route parameter (already percent-decoded by the router), checked. */
export function readAdminParam(params: Record<string, string | undefined>, name: string, rule: TextRule): string {
  try {
    return checkText(name, params[name] ?? "", rule);
  } catch (error) {
    throw refusalOf(error);
  }
}
