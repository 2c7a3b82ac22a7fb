import { z } from "zod";
import type { Db } from "../../lib/db.server";
import { newId } from "../../lib/ids";
import type { KeyRing } from "../../lib/secret-box.server";
import type { ShopRef } from "../../shops/shops.server";
import type { ExchangeResult, OutboundRequest } from "../../delivery/http-sender.server";
import { buildTestBody, serializeBody } from "../../delivery/payload";
import type { DeliveryErrorCode } from "../../delivery/types";
import { openCredentials, signingSecretsAt } from "../endpoint-secrets.server";
import { LIVE_STATES } from "../endpoints.server";
import { IntegrationEndpointNotFoundError } from "../errors";
import type { HttpRequestDefinition, SecretHeaderValues } from "./definition";
import type { DefinitionProblem } from "./render-request";
import { createHttpRequestSender, parseDefinition, parseHttpCredentials } from "./sender";
import { validateHttpRequestDefinition } from "./validate-definition";

/**
 * What the admin pages of an HTTP-request destination need besides saving and previewing
 * (destination.server.ts): the form as the browser sends it, the saved destination as the edit form shows
 * it (secret header values never leave the server: only whether one is stored), and "Send test" of the
 * request as it stands in the form, saved or not.
 */

/** The form's fields; the definition and the secret values travel as JSON, so a template keeps its line breaks. */
export const EDITOR_FIELDS = {
  definition: { maxLength: 200_000 },
  secretValues: { maxLength: 100_000 },
} as const;

/** The most a form post of the editor may weigh (a 20,000-character template, percent-encoded). */
export const EDITOR_MAX_BYTES = 512 * 1024;

const json = (what: string) =>
  z.string({ required_error: `Missing ${what}` }).transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `The ${what} could not be read` });
      return z.NEVER;
    }
  });

const secretValuesSchema = json("secret header values").pipe(
  z.record(z.string().max(4_096, "A secret value can be at most 4,096 characters"), { invalid_type_error: "The secret header values could not be read" })
    .refine((values) => Object.keys(values).length <= 40, "Too many secret header values"),
);

const nameSchema = z.string().max(200, "The name is too long").optional();

export const editorIntentSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("preview"), definition: json("request") }),
  z.object({ intent: z.literal("send_test"), definition: json("request"), secretValues: secretValuesSchema.default("{}") }),
  z.object({ intent: z.literal("save"), name: nameSchema, definition: json("request"), secretValues: secretValuesSchema.default("{}") }),
]);

export type EditorIntent = z.infer<typeof editorIntentSchema>;

export class InvalidEditorFormError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidEditorFormError";
  }
}

export function parseEditorIntent(form: URLSearchParams): EditorIntent {
  const parsed = editorIntentSchema.safeParse(Object.fromEntries(form.entries()));
  if (!parsed.success) throw new InvalidEditorFormError(parsed.error.issues[0]?.message ?? "That request was not understood.");
  return parsed.data;
}

/** One header of the edit form: a secret header's value is never sent, only whether one is stored. */
export type EditorHeader = { name: string; secret: false; value: string } | { name: string; secret: true; stored: boolean };

export interface EditorDestination {
  id: string;
  name: string;
  state: string;
  definition: Omit<HttpRequestDefinition, "headers"> & { headers: EditorHeader[] };
}

async function findRow(db: Db, shop: ShopRef, destinationId: string) {
  const row = await db.destination.findFirst({
    where: { id: destinationId, shopId: shop.id, kind: "http_request", state: { in: [...LIVE_STATES] } },
    select: {
      id: true, shopId: true, name: true, state: true, settings: true, credentialsCiphertext: true,
      secretCiphertext: true, previousSecretCiphertext: true, previousSecretUntil: true,
    },
  });
  if (!row) throw new IntegrationEndpointNotFoundError();
  return row;
}

function storedSecrets(row: { id: string; shopId: string; credentialsCiphertext: string | null }, ring: KeyRing): SecretHeaderValues {
  return parseHttpCredentials(row.credentialsCiphertext ? openCredentials(row.credentialsCiphertext, ring, row) : null).headers;
}

function hasValue(values: SecretHeaderValues, name: string): boolean {
  const lower = name.toLowerCase();
  return Object.entries(values).some(([key, value]) => key.toLowerCase() === lower && value !== "");
}

/**
 * The saved destination for the edit form, of the signed-in shop and of this kind only (anything else is
 * not found): its definition as saved, with secret headers reduced to whether a value is stored.
 */
export async function loadHttpRequestForEdit(input: { db: Db; shop: ShopRef; ring: KeyRing; destinationId: string }): Promise<EditorDestination> {
  const row = await findRow(input.db, input.shop, input.destinationId);
  const definition = parseDefinition(row.settings) ?? { method: "POST", url: "", headers: [], bodyEncoding: "json", body: "" };
  const secrets = storedSecrets(row, input.ring);
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    definition: {
      ...definition,
      headers: definition.headers.map((h): EditorHeader => (h.secret ? { name: h.name, secret: true, stored: hasValue(secrets, h.name) } : h)),
    },
  };
}

/** Stored values with the typed ones over them: a typed value replaces, an empty one removes. */
export function mergeSecretValues(stored: SecretHeaderValues, typed: SecretHeaderValues): Record<string, string> {
  const merged: Record<string, string> = { ...stored };
  for (const [name, value] of Object.entries(typed)) {
    for (const key of Object.keys(merged)) if (key.toLowerCase() === name.toLowerCase()) delete merged[key];
    if (value !== "") merged[name] = value;
  }
  return merged;
}

/** How a test of the form's request went, for the page: never a secret value, never the shopper's email. */
export type RequestTestResult =
  | { ok: true; statusCode: number; durationMs: number; responseExcerpt: string }
  | {
    ok: false;
    errorCode: DeliveryErrorCode;
    message: string;
    statusCode: number | null;
    durationMs: number;
    responseExcerpt: string | null;
    hint: string | null;
  };

export type SendTestRequestResult = { ok: true; result: RequestTestResult } | { ok: false; problems: DefinitionProblem[] };

/**
 * Sends the request as it stands in the form, once, for a made-up test shopper (event `test`), through the
 * same sender the worker uses (vetted address, rendered URL checked, the receiver's answer classified and
 * scrubbed of secret values). On a saved destination the stored secret values fill in what the form left
 * out, and the request carries the destination's signature headers. Nothing is recorded: the form may not
 * be saved yet.
 */
export async function sendTestRequest(input: {
  db: Db;
  shop: ShopRef;
  ring: KeyRing;
  exchange: (request: OutboundRequest) => Promise<ExchangeResult>;
  definition: unknown;
  secretValues: SecretHeaderValues;
  destinationId?: string;
  now?: Date;
}): Promise<SendTestRequestResult> {
  const now = input.now ?? new Date();
  let stored: SecretHeaderValues = {};
  let signingSecrets: string[] = [];
  if (input.destinationId) {
    const row = await findRow(input.db, input.shop, input.destinationId);
    stored = storedSecrets(row, input.ring);
    signingSecrets = signingSecretsAt(row, input.ring, now);
  }
  const secretValues = mergeSecretValues(stored, input.secretValues);
  const check = validateHttpRequestDefinition(input.definition, { secretValues });
  if (!check.ok) return { ok: false, problems: check.problems };

  const send = createHttpRequestSender(input.exchange, { now: () => now });
  const attempt = await send({
    deliveryId: newId(now.getTime()),
    destinationId: input.destinationId ?? "unsaved",
    shopId: input.shop.id,
    shopDomain: input.shop.domain,
    kind: "http_request",
    event: "test",
    payload: serializeBody(buildTestBody(input.shop.domain, now)),
    url: "",
    signingSecrets,
    credentials: JSON.stringify({ headers: secretValues }),
    settings: JSON.stringify(check.definition),
    backfill: false,
  });
  if (attempt.ok) {
    return { ok: true, result: { ok: true, statusCode: attempt.statusCode, durationMs: attempt.durationMs, responseExcerpt: attempt.responseExcerpt } };
  }
  return {
    ok: true,
    result: {
      ok: false,
      errorCode: attempt.errorCode,
      message: attempt.message,
      statusCode: attempt.statusCode ?? null,
      durationMs: attempt.durationMs,
      responseExcerpt: attempt.responseExcerpt ?? null,
      hint: attempt.hint ?? null,
    },
  };
}
