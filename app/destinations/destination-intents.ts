import { z } from "zod";
import { MAX_FILTER_PRODUCTS, productKey, type DestinationEvent } from "../delivery/destination-rules";
import { utcDaySchema } from "./delivery-log-filters";
import { InvalidIntentError, webhookIntentSchema, type WebhookIntent } from "./intents";
import { policyText } from "../lib/input-policy";

/**
 * What the destination pages' forms can ask for. The page of one destination takes the destination's id from
 * its URL, never from the form: whatever id a form carries is replaced by the URL's before parsing, and the
 * domain functions then look it up together with the shop from the verified session.
 */

const text = (max: number) => policyText({ maxLength: max });
const checkbox = z.preprocess((v) => v === "on" || v === "true" || v === "1", z.boolean());

/** Product ids as the form sends them: comma-separated, numeric or App Bridge GIDs; empty for every product. */
const productIds = z
  .string()
  .max(MAX_FILTER_PRODUCTS * 40, `Choose at most ${MAX_FILTER_PRODUCTS} products`)
  .transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean))
  .refine((ids) => ids.length <= MAX_FILTER_PRODUCTS, `Choose at most ${MAX_FILTER_PRODUCTS} products`)
  .refine((ids) => ids.every((id) => productKey(id) !== null), "One of the chosen products is not a Shopify product");

const pageIntentSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("rename"), name: text(200) }),
  z.object({
    intent: z.literal("filters"),
    lead_captured: checkbox,
    lead_redacted: checkbox,
    productIds: productIds.default(""),
  }),
  z.object({
    intent: z.literal("klaviyo_settings"),
    metricName: text(200).default(""),
    listId: text(64).default(""),
    listName: text(300).default(""),
  }),
  z.object({ intent: z.literal("klaviyo_lists") }),
  z.object({ intent: z.literal("backfill_count"), since: utcDaySchema }),
  z.object({ intent: z.literal("backfill_start"), since: utcDaySchema }),
  z.object({ intent: z.literal("backfill_cancel"), backfillId: text(64).pipe(z.string().trim().min(1, "Missing id")) }),
]);

export type DestinationPageIntent =
  | Exclude<WebhookIntent, { intent: "connect" }>
  | z.infer<typeof pageIntentSchema>;

const PAGE_INTENTS: ReadonlySet<string> = new Set(pageIntentSchema.options.map((o) => o.shape.intent.value));

function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? "That request was not understood.";
}

/** Parses a form posted to the page of destination `destinationId` (from the URL). */
export function parseDestinationIntent(form: URLSearchParams, destinationId: string): DestinationPageIntent {
  const fields: Record<string, string> = Object.fromEntries(form.entries());
  const intent = fields.intent ?? "";
  if (PAGE_INTENTS.has(intent)) {
    const parsed = pageIntentSchema.safeParse(fields);
    if (!parsed.success) throw new InvalidIntentError(firstIssue(parsed.error));
    return parsed.data;
  }
  if (intent === "connect") throw new InvalidIntentError("That request was not understood.");
  const parsed = webhookIntentSchema.safeParse({ ...fields, destinationId });
  if (!parsed.success) throw new InvalidIntentError(firstIssue(parsed.error));
  if (parsed.data.intent === "connect") throw new InvalidIntentError("That request was not understood.");
  return parsed.data;
}

export function eventsOf(intent: { lead_captured: boolean; lead_redacted: boolean }): DestinationEvent[] {
  const events: DestinationEvent[] = [];
  if (intent.lead_captured) events.push("lead_captured");
  if (intent.lead_redacted) events.push("lead_redacted");
  return events;
}

/** The kinds a merchant can add from the Add destination page, and the fields of each. */
export const newDestinationSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("connect_webhook"), name: text(200).default(""), url: text(2048) }),
  z.object({ intent: z.literal("klaviyo_lists"), apiKey: text(200) }),
  z.object({
    intent: z.literal("connect_klaviyo"),
    name: text(200).default(""),
    apiKey: text(200),
    metricName: text(200).default(""),
    listId: text(64).default(""),
    listName: text(300).default(""),
    deleteOnRedaction: checkbox,
  }),
]);

export type NewDestinationIntent = z.infer<typeof newDestinationSchema>;

export function parseNewDestinationIntent(form: URLSearchParams): NewDestinationIntent {
  const parsed = newDestinationSchema.safeParse(Object.fromEntries(form.entries()));
  if (!parsed.success) throw new InvalidIntentError(firstIssue(parsed.error));
  return parsed.data;
}
