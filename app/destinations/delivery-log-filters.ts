import { z } from "zod";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../delivery/types";
import { policyText } from "../lib/input-policy";

/** Filters of the delivery log, read from the Manage page's query string. Dates are UTC days. */

/** A calendar day that exists (2026-02-30 does not, though Date.parse accepts it). */
export function isRealDay(day: string): boolean {
  const at = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === day;
}

export const utcDaySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are YYYY-MM-DD")
  .refine(isRealDay, "That date does not exist");

/** Empty form fields mean "no filter". */
const blankAsUndefined = (value: unknown) => (value === "" || value === null ? undefined : value);

export const deliveryLogFiltersSchema = z
  .object({
    status: z.preprocess(blankAsUndefined, z.enum(DELIVERY_STATUSES, { message: "Unknown delivery status" }).optional()),
    from: z.preprocess(blankAsUndefined, utcDaySchema.optional()),
    to: z.preprocess(blankAsUndefined, utcDaySchema.optional()),
    lead: z.preprocess(blankAsUndefined, policyText({ maxLength: 64 }).transform((s) => s.trim()).optional()),
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

/**
 * The filters of a delivery log page, for a loader: filters that cannot be read are not applied and
 * their message is shown instead, so the page still opens.
 */
export function readDeliveryLogFilters(params: URLSearchParams): { filters: DeliveryLogFilters; filterError: string | null } {
  try {
    return { filters: parseDeliveryLogFilters(params), filterError: null };
  } catch (error) {
    if (!(error instanceof InvalidDeliveryFiltersError)) throw error;
    return { filters: {}, filterError: error.message };
  }
}

/** The first instant of a UTC day. */
export function startOfDay(day: string): Date {
  return new Date(`${day}T00:00:00.000Z`);
}

/** The first instant after a UTC day. */
export function endOfDay(day: string): Date {
  return new Date(startOfDay(day).getTime() + 86_400_000);
}
