import pino, { type Logger, type DestinationStream } from "pino";
import { getConfig } from "./config.server";
import { EMAIL_IN_TEXT } from "./email-text";

/**
 * Structured logs. Secrets, signatures, tokens and shopper emails never reach the output:
 * known keys are censored by path, and any string that still looks like an email or a bearer
 * token is masked before it is written.
 */

const SENSITIVE_KEYS = [
  "email", "secret", "signingSecret", "signature", "token", "accessToken", "refreshToken", "idToken",
  "id_token", "password", "authorization", "apiKey", "apiSecretKey", "payload", "body", "ciphertext", "key",
];

const redactPaths = SENSITIVE_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]).concat([
  "req.headers.authorization",
  "req.headers.cookie",
  'headers["x-tryoncloud-signature"]',
  'headers["webhook-signature"]',
]);

const BEARER_PATTERN = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const SIGNATURE_PATTERN = /\b(sha256=|v1,)[A-Za-z0-9+/=]{16,}/g;

export function scrubText(text: string): string {
  return text
    .replace(EMAIL_IN_TEXT, "[email]")
    .replace(BEARER_PATTERN, "$1[redacted]")
    .replace(SIGNATURE_PATTERN, "$1[redacted]");
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrubText(value.message), code: (value as { code?: unknown }).code };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      redact: { paths: redactPaths, censor: "[redacted]" },
      formatters: {
        log: (object) => scrubValue(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === "string" ? scrubText(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => scrubValue(e) },
    },
    options.destination,
  );
}

let shared: Logger | undefined;

/** The process-wide logger; its level comes from LOG_LEVEL. */
export function getLogger(): Logger {
  shared ??= createLogger({ level: getConfig().LOG_LEVEL });
  return shared;
}
