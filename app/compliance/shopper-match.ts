import type { Prisma } from "../lib/db.server";
import type { ShopperRef } from "./payloads";

/**
 * Which rows of a shop belong to one shopper: leads whose email matches case-insensitively (through the
 * lower-cased Lead.emailSearch, stored the same way at capture) or whose tagged Shopify customer is them.
 */

export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFC").toLowerCase();
}

export function customerGid(customerId: string): string {
  return `gid://shopify/Customer/${customerId}`;
}

export function leadsOfShopper(shopId: string, shopper: ShopperRef): Prisma.LeadWhereInput {
  const or: Prisma.LeadWhereInput[] = [];
  if (shopper.email) or.push({ emailSearch: normalizeEmail(shopper.email) });
  if (shopper.customerId) or.push({ customerId: customerGid(shopper.customerId) });
  return { shopId, OR: or };
}

export function dataRequestsOfShopper(shopId: string, shopper: ShopperRef): Prisma.DataRequestWhereInput {
  const or: Prisma.DataRequestWhereInput[] = [];
  if (shopper.email) or.push({ customerEmail: normalizeEmail(shopper.email) });
  if (shopper.customerId) or.push({ customerId: shopper.customerId });
  return { shopId, OR: or };
}
