import { z } from "zod";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../delivery/types";

/** Filters of the delivery log, read from the Manage page's query string. Dates are UTC days. */

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are YYYY-MM-DD")
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), "That date does not exist")
  .optional()
  .or(z.literal("").transform(() => undefined));

export const deliveryLogFiltersSchema = z
  .object({
    status: z.enum(DELIVERY_STATUSES, { message: "Unknown delivery status" }).optional().or(z.literal("").transform(() => undefined)),
    from: day,
    to: day,
    lead: z.string().trim().max(64, "Unknown lead").optional().transform((s) => (s ? s : undefined)),
  })
  .refine((f) => !(f.from && f.to && f.from > f.to), "The start date is after the end date");

export interface DeliveryLogFilters {
  status?: DeliveryStatus;
  from?: string;
  to?: string;
  /** Only this lead's deliveries. */
  lead?: string;
}

export class InvalidDeliveryFiltersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidDeliveryFiltersError";
  }
}

export function parseDeliveryLogFilters(params: URLSearchParams): DeliveryLogFilters {
  const parsed = deliveryLogFiltersSchema.safeParse({
    status: params.get("status") ?? undefined,
    from: params.get("from") ?? undefined,
    to: params.get("to") ?? undefined,
    lead: params.get("lead") ?? undefined,
  });
  if (!parsed.success) throw new InvalidDeliveryFiltersError(parsed.error.issues[0]?.message ?? "Invalid filters");
  return parsed.data;
}

/** The first instant of a UTC day. */
export function startOfDay(day: string): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

/** The first instant after a UTC day. */
export function endOfDay(day: string): Date {
  return new Date(startOfDay(day).getTime() + 86_400_000);
}
