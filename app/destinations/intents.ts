import { z } from "zod";
import { utcDaySchema } from "./delivery-log-filters";
import { MAX_OVERLAP_HOURS } from "./rotation-policy";
import { textProblem } from "../lib/input-policy";

/**
 * Everything the webhook page's forms can ask for, as one discriminated union on `intent`. Ids are only ever
 * looked up together with the shop from the verified session; here they are just bounded strings.
 */

const id = z
  .string()
  .trim()
  .min(1, "Missing id")
  .max(64, "Unknown id")
  .refine((s) => textProblem(s, { maxLength: 64 }) === null, "Unknown id");
const day = utcDaySchema;

export const webhookIntentSchema = z.discriminatedUnion("intent", [
  z.object({
    intent: z.literal("connect"),
    url: z
      .string()
      .max(2048, "The URL is longer than 2048 characters")
      .refine((s) => textProblem(s, { maxLength: 2048 }) === null, "The URL contains characters a URL cannot have"),
  }),
  z.object({
    intent: z.literal("rotate"),
    destinationId: id,
    overlapHours: z.coerce
      .number({ message: "Choose how long the old secret keeps working" })
      .int()
      .min(0)
      .max(MAX_OVERLAP_HOURS, "The overlap is at most 7 days")
      .default(0),
  }),
  z.object({ intent: z.literal("disconnect"), destinationId: id }),
  z.object({ intent: z.literal("pause"), destinationId: id }),
  z.object({ intent: z.literal("resume"), destinationId: id }),
  z.object({ intent: z.literal("send_test"), destinationId: id }),
  z.object({ intent: z.literal("replay"), deliveryId: id }),
  z.object({ intent: z.literal("count_failed"), destinationId: id, since: day }),
  z.object({ intent: z.literal("replay_failed"), destinationId: id, since: day }),
]);

export type WebhookIntent = z.infer<typeof webhookIntentSchema>;

export class InvalidIntentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidIntentError";
  }
}

export function parseWebhookIntent(form: FormData | URLSearchParams): WebhookIntent {
  const parsed = webhookIntentSchema.safeParse(Object.fromEntries(form.entries()));
  if (!parsed.success) throw new InvalidIntentError(parsed.error.issues[0]?.message ?? "That request was not understood.");
  return parsed.data;
}
