import { z } from "zod";
import { InvalidWebhookPayloadError } from "./errors";

/**
 * The parts of Shopify's privacy webhook bodies that the app acts on. Unknown fields are ignored (Shopify
 * may add some); the shop is never taken from the body but from the verified X-Shopify-Shop-Domain header.
 */

/** A shopper as the app can recognise them: by Shopify customer id and/or email. */
export interface ShopperRef {
  /** Numeric Shopify customer id, as text. */
  customerId: string | null;
  email: string | null;
}

const numericId = z
  .union([z.number().int().nonnegative().safe(), z.string().regex(/^\d{1,20}$/)])
  .transform((v) => String(v));

const customer = z.object({
  id: numericId.nullish(),
  email: z.string().max(320).nullish(),
});

const customersRedact = z.object({ customer });
const customersDataRequest = z.object({ customer, data_request: z.object({ id: numericId }) });

function shopperOf(c: z.infer<typeof customer>): ShopperRef {
  const email = c.email?.trim() || null;
  const shopper = { customerId: c.id ?? null, email };
  if (!shopper.customerId && !shopper.email) throw new InvalidWebhookPayloadError("the customer has neither an id nor an email");
  return shopper;
}

function parse<T extends z.ZodTypeAny>(schema: T, payload: unknown, topic: string): z.infer<T> {
  const result = schema.safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidWebhookPayloadError(`${topic} body: ${issue.path.join(".") || "body"} ${issue.message}`);
  }
  return result.data;
}

export function parseCustomersRedact(payload: unknown): ShopperRef {
  return shopperOf(parse(customersRedact, payload, "customers/redact").customer);
}

export function parseCustomersDataRequest(payload: unknown): { shopifyRequestId: string; shopper: ShopperRef } {
  const body = parse(customersDataRequest, payload, "customers/data_request");
  return { shopifyRequestId: body.data_request.id, shopper: shopperOf(body.customer) };
}
