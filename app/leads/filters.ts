import { z } from "zod";

/** Filters of the Leads tab, read from a query string. Shared by the page, the export ticket and the CSV. */
export const leadFiltersSchema = z.object({
  q: z
    .string()
    .trim()
    .max(254, "Search is at most 254 characters")
    .transform((s) => s.normalize("NFC").toLowerCase())
    .optional()
    .transform((s) => (s ? s : undefined)),
  product: z.string().trim().max(100).optional().transform((s) => (s ? s : undefined)),
  from: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are YYYY-MM-DD")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  to: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "Dates are YYYY-MM-DD")
    .optional()
    .or(z.literal("").transform(() => undefined)),
});

export type LeadFilters = z.infer<typeof leadFiltersSchema>;

export class InvalidFiltersError extends Error {
  constructor(message: string) {
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
  if (!parsed.success) throw new InvalidFiltersError(parsed.error.issues[0]?.message ?? "Invalid filters");
  const filters = parsed.data;
  if (filters.from && Number.isNaN(Date.parse(`${filters.from}T00:00:00Z`))) throw new InvalidFiltersError("Invalid start date");
  if (filters.to && Number.isNaN(Date.parse(`${filters.to}T00:00:00Z`))) throw new InvalidFiltersError("Invalid end date");
  if (filters.from && filters.to && filters.from > filters.to) {
    throw new InvalidFiltersError("The start date is after the end date");
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
