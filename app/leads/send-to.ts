import { z } from "zod";
import { textProblem } from "../lib/input-policy";

/**
 * "Send to…" on a lead's row: what the form may carry, and what the merchant reads afterwards. Ids are only
 * looked up together with the shop from the verified session; here they are bounded strings.
 */

const id = z
  .string()
  .trim()
  .min(1, "Choose a destination")
  .max(64, "Unknown destination")
  .refine((s) => textProblem(s, { maxLength: 64 }) === null, "Unknown destination");

const sendToSchema = z.object({ destinationId: id });

export class InvalidSendToError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSendToError";
  }
}

export function parseSendToForm(form: URLSearchParams): { destinationId: string } {
  const parsed = sendToSchema.safeParse(Object.fromEntries(form));
  if (!parsed.success) throw new InvalidSendToError(parsed.error.issues[0]?.message ?? "Choose a destination");
  return parsed.data;
}

export type SendToOutcome = "queued" | "replayed" | "already_on_its_way";

export interface SendToAnswer {
  outcome: SendToOutcome;
  deliveryId: string;
  message: string;
}

export function sendToMessage(outcome: SendToOutcome, destinationName: string, paused = false): string {
  const text = {
    queued: `Sending this lead to ${destinationName}.`,
    replayed: `Sending this lead to ${destinationName} again.`,
    already_on_its_way: `This lead is already on its way to ${destinationName}.`,
  }[outcome];
  return paused ? `${text} ${destinationName} is paused: the lead goes once you resume it.` : text;
}
