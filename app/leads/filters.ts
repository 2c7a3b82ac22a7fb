import { z } from "zod";
import { policyText } from "../lib/input-policy";

/**
 * Filters of the Leads tab, read from a query string. Shared by the page, the export ticket and the CSV,
 * so the filters signed into a ticket are held to the same input policy as those typed in the page.
 */
const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are YYYY-MM-DD");

export const leadFiltersSchema = z.object({
  q: policyText({ maxLength: 254 })
    .transform((s) => s.trim().normalize("NFC").toLowerCase())
    .optional()
    .transform((s) => (s ? s : undefined)),
  product: policyText({ maxLength: 100 }).transform((s) => s.trim()).optional().transform((s) => (s ? s : undefined)),
  from: isoDay.optional().or(z.literal("").transform(() => undefined)),
  to: isoDay.optional().or(z.literal("").transform(() => undefined)),
});

export type LeadFilters = z.infer<typeof leadFiltersSchema>;

const FILTER_LABELS: Record<string, string> = { q: "Search", product: "Product", from: "Start date", to: "End date" };

export class InvalidFiltersError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "InvalidFiltersError";
  }
}

export function parseLeadFilters(params: URLSearchParams): LeadFilters {
  const raw = {
    q: params.get("q") ?? undefined,
    product: params.get("product") ?? undefined,
    from: params.get("from") ?? undefined,
    to: params.get("to") ?? undefined,
  };
  const parsed = leadFiltersSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "filters");
    // Date messages are whole sentences; the text policy's end a sentence that starts with the field.
    const message = issue?.code === "custom" ? `${FILTER_LABELS[field] ?? field} ${issue.message}` : (issue?.message ?? "Invalid filters");
    throw new InvalidFiltersError(field, message);
  }
  const filters = parsed.data;
  if (filters.from && Number.isNaN(Date.parse(`${filters.from}T00:00:00Z`))) throw new InvalidFiltersError("from", "Invalid start date");
  if (filters.to && Number.isNaN(Date.parse(`${filters.to}T00:00:00Z`))) throw new InvalidFiltersError("to", "Invalid end date");
  if (filters.from && filters.to && filters.from > filters.to) {
    throw new InvalidFiltersError("from", "The start date is after the end date");
  }
  return filters;
}

export function filtersToParams(filters: LeadFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ["q", "product", "from", "to"] as const) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  return params;
}
