import type { Logger } from "pino";

/**
 * How an error nobody handled is written down: through the redacting logger (so an email, token or
 * signature in its message or stack is masked like anywhere else), with the request's method and path
 * only (a query string can carry a session token or a shopper's email), never to stderr raw.
 */

export interface RequestLine {
  method: string;
  /** Path without the query string. */
  path: string;
}

export function requestLineOf(request: Request): RequestLine {
  return { method: request.method, path: new URL(request.url).pathname };
}

/** Remix wraps some errors (ErrorResponse); the one inside is the one worth reading. */
function unwrap(error: unknown): unknown {
  const inner = (error as { error?: unknown } | null)?.error;
  return typeof error === "object" && error !== null && "status" in error && inner instanceof Error ? inner : error;
}

/** Where an error happened: a request, or a source such as "uncaughtException". */
export type ErrorLocation = Partial<RequestLine> & { source?: string };

export function reportUnhandledError(logger: Logger, error: unknown, where: ErrorLocation): void {
  const err = unwrap(error);
  const stack = err instanceof Error ? err.stack : undefined;
  // The formatter masks every string it is given, the stack included (its first line repeats the message).
  logger.error({ err, stack, ...where }, "unhandled error");
}
