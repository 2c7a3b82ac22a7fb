import { z } from "zod";
import { decodeUtf8, InputRefusedError, policyText, textProblem } from "../lib/input-policy";
import { EMAIL_ATEXT } from "../lib/email-text";

/**
 * The storefront widget's capture request, validated strictly before anything is stored. Text is
 * normalised to Unicode NFC and held to the app's input policy (valid UTF-8, no control characters,
 * a length limit per field), then stored as typed; it is encoded wherever it is output (HTML by React,
 * CSV by the exporter, JSON by the serializer), never escaped on the way in.
 */

export const MAX_CAPTURE_BODY_BYTES = 16 * 1024;

const text = (max: number) =>
  z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(policyText({ maxLength: max }).pipe(z.string().min(1, "is required")));

const optionalText = (max: number) =>
  z
    .string()
    .transform((s) => s.normalize("NFC").trim())
    .pipe(policyText({ maxLength: max }))
    .optional()
    .transform((s) => (s ? s : undefined));

/** How deep the try-on detail may nest: the widget sends at most 4 levels. */
const MAX_TRY_ON_DEPTH = 8;

/**
 * The first problem in a JSON value's keys and strings under the input policy (line breaks allowed in
 * values: this is free-form vendor detail), as a path and a message; walked without recursion so that
 * any nesting is answered, not a stack overflow.
 */
function jsonTextProblem(root: unknown): { path: string[]; message: string } | null {
  const stack: { value: unknown; path: string[] }[] = [{ value: root, path: [] }];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (path.length > MAX_TRY_ON_DEPTH) return { path: [], message: `nests deeper than ${MAX_TRY_ON_DEPTH} levels` };
    if (typeof value === "string") {
      const problem = textProblem(value, { maxLength: MAX_CAPTURE_BODY_BYTES, multiline: true });
      if (problem) return { path, message: problem };
    } else if (typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const problem = textProblem(key, { maxLength: 100 });
        if (problem) return { path, message: `has a key that ${problem}` };
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return null;
}

/**
 * A practical strict email check: one @, a local part of allowed atoms (dot-separated, no leading,
 * trailing or double dots), a domain of LDH labels with a letter TLD. No quoted local parts, no IP
 * literals, no spaces or control characters: what a CRM will accept as a marketing address.
 */
const EMAIL = new RegExp(`^(?=.{3,254}$)(?=[^@]{1,64}@)[${EMAIL_ATEXT}]+(?:\\.[${EMAIL_ATEXT}]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$`);

const httpUrl = (max: number) =>
  text(max).refine((value) => {
    try {
      return ["https:", "http:"].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, "must be an http(s) URL");

export const captureInputSchema = z.object({
  email: z
    .string({ required_error: "is required" })
    .transform((s) => s.normalize("NFC").trim())
    .refine((s) => EMAIL.test(s), "is not a valid email address"),
  consent: z.literal(true, { errorMap: () => ({ message: "must be given to be contacted" }) }),
  product: z.object(
    {
      id: text(100),
      title: text(255),
      url: httpUrl(2048),
      variant: z.object({ id: text(100), title: optionalText(255) }).nullable().optional(),
    },
    { required_error: "is required" },
  ),
  tryOn: z
    .record(z.unknown())
    .nullable()
    .optional()
    .superRefine((v, ctx) => {
      if (!v) return;
      // The walk bounds the depth before anything serialises the value recursively.
      const problem = jsonTextProblem(v);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: problem.path, message: problem.message });
      else if (JSON.stringify(v).length > 2048) ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be at most 2 KB" });
    }),
  utm: z
    .object({
      source: optionalText(255),
      medium: optionalText(255),
      campaign: optionalText(255),
      term: optionalText(255),
      content: optionalText(255),
    })
    .optional(),
  pageUrl: httpUrl(2048).optional(),
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,100}$/, "must be 8 to 100 letters, digits, - or _")
    .optional(),
  locale: optionalText(20),
});

export type CaptureInput = z.infer<typeof captureInputSchema>;

export class CaptureValidationError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "CaptureValidationError";
  }
}

const FIELD_LABELS: Record<string, string> = {
  email: "Email",
  consent: "Consent",
  product: "Product",
  tryOn: "Try-on result",
  utm: "Campaign parameters",
  pageUrl: "Page URL",
  idempotencyKey: "Idempotency key",
  locale: "Locale",
};

/** Parses the bytes of a capture request: UTF-8 JSON; the first problem becomes a field-named error. */
export function parseCaptureBody(bytes: Uint8Array): CaptureInput {
  let raw: string;
  try {
    raw = decodeUtf8(bytes, "body");
  } catch (error) {
    if (error instanceof InputRefusedError) throw new CaptureValidationError("body", "The request body is not valid UTF-8");
    throw error;
  }
  return parseCaptureInput(raw);
}

/** Parses the JSON text of a capture request; the first problem becomes a field-named error. */
export function parseCaptureInput(raw: string): CaptureInput {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new CaptureValidationError("body", "The request body is not valid JSON");
  }
  const parsed = captureInputSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join(".") || "body";
    const top = String(issue.path[0] ?? "body");
    const label = FIELD_LABELS[top] ?? top;
    const detail = issue.path.length > 1 ? ` (${issue.path.slice(1).join(".")})` : "";
    const message = issue.code === "invalid_type" && issue.received === "undefined" ? "is required" : issue.message;
    throw new CaptureValidationError(path, `${label}${detail} ${message}`);
  }
  return parsed.data;
}
