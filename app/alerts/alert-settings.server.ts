import { z } from "zod";
import type { Db } from "../lib/db.server";
import type { AdminGraphql } from "../customers/tag-customer.server";

/**
 * A shop's alert settings (on or off, and the address) and who alerts go to: the address the merchant typed,
 * else the store's email as Shopify has it (`shop { email contactEmail }` through the Admin API), read once
 * and kept on the Shop row. Every function takes the shop id from the verified session or the worker's own
 * rows, never from a client.
 */

/** How long the store's email read from Shopify is trusted before it is read again. */
export const OWNER_EMAIL_MAX_AGE_MS = 24 * 3_600_000;
/** How long a page or a round waits for Shopify's answer before going on with what it knows. */
const OWNER_EMAIL_TIMEOUT_MS = 5_000;

export interface AlertSettings {
  enabled: boolean;
  /** The address the merchant typed; null: the store's email. */
  email: string | null;
  /** The store's email as last read from Shopify; null when unknown. */
  ownerEmail: string | null;
}

export async function getAlertSettings(db: Db, shopId: string): Promise<AlertSettings> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { alertsEnabled: true, alertEmail: true, ownerEmail: true } });
  return { enabled: shop.alertsEnabled, email: shop.alertEmail, ownerEmail: shop.ownerEmail };
}

export async function saveAlertSettings(db: Db, shopId: string, settings: { enabled: boolean; email: string | null }): Promise<AlertSettings> {
  const shop = await db.shop.update({
    where: { id: shopId },
    data: { alertsEnabled: settings.enabled, alertEmail: settings.email },
    select: { alertsEnabled: true, alertEmail: true, ownerEmail: true },
  });
  return { enabled: shop.alertsEnabled, email: shop.alertEmail, ownerEmail: shop.ownerEmail };
}

// One address: a local part without spaces or brackets, and a domain with a dot. What mail servers accept is
// wider, but an address typed into this field that fails this is a typo in practice.
const ADDRESS = /^[^\s@<>()[\]",;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && ADDRESS.test(value) && value.split("@")[0].length <= 64;
}

/** A refused setting: the status says whether the form was malformed (400) or a value was refused (422). */
export class AlertSettingsInputError extends Error {
  constructor(readonly status: 400 | 422, readonly field: string, message: string) {
    super(message);
    this.name = "AlertSettingsInputError";
  }
}

const formSchema = z.object({
  intent: z.literal("save"),
  enabled: z.enum(["true", "false"]),
  email: z.string().max(1000).default(""),
});

/** The settings form: `intent=save`, `enabled=true|false`, `email` (empty: the store's email). */
export function parseAlertSettingsForm(form: URLSearchParams): { enabled: boolean; email: string | null } {
  const parsed = formSchema.safeParse(Object.fromEntries(form.entries()));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "form");
    if (field === "intent") throw new AlertSettingsInputError(400, "intent", "That request was not understood.");
    if (field === "enabled") throw new AlertSettingsInputError(400, "enabled", "Say whether alerts are on (true) or off (false).");
    throw new AlertSettingsInputError(422, "email", "The email address is too long.");
  }
  const email = parsed.data.email.trim();
  if (email && !isEmailAddress(email)) {
    throw new AlertSettingsInputError(422, "email", "Enter one email address, such as you@example.com, or leave it empty to use your store's email.");
  }
  return { enabled: parsed.data.enabled === "true", email: email ? email.toLowerCase() : null };
}

const OWNER_EMAIL_QUERY = `#graphql
  query ShopAlertEmail {
    shop { email contactEmail }
  }`;

/** The store's email from the Admin API: the owner's address Shopify writes to, else the public contact one. */
export async function readOwnerEmail(graphql: AdminGraphql): Promise<string | null> {
  const data = (await graphql(OWNER_EMAIL_QUERY, {})) as { shop?: { email?: unknown; contactEmail?: unknown } };
  for (const candidate of [data.shop?.email, data.shop?.contactEmail]) {
    if (typeof candidate === "string" && isEmailAddress(candidate.trim())) return candidate.trim().toLowerCase();
  }
  return null;
}

/**
 * Reads the store's email from Shopify and keeps it on the Shop row, unless it was read within
 * OWNER_EMAIL_MAX_AGE_MS (an unknown answer is remembered too, so a shop without one is not asked every round).
 * A failed read keeps what was known. Returns the best known address.
 */
export async function refreshOwnerEmail(
  db: Db,
  shopId: string,
  graphql: () => Promise<AdminGraphql>,
  now: Date = new Date(),
): Promise<string | null> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { ownerEmail: true, ownerEmailCheckedAt: true } });
  if (shop.ownerEmailCheckedAt && now.getTime() - shop.ownerEmailCheckedAt.getTime() < OWNER_EMAIL_MAX_AGE_MS) return shop.ownerEmail;
  let found: string | null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Shopify did not answer in time")), OWNER_EMAIL_TIMEOUT_MS);
    });
    found = await Promise.race([graphql().then(readOwnerEmail), timeout]);
  } catch {
    return shop.ownerEmail;
  } finally {
    clearTimeout(timer);
  }
  await db.shop.update({ where: { id: shopId }, data: { ownerEmail: found ?? shop.ownerEmail, ownerEmailCheckedAt: now } });
  return found ?? shop.ownerEmail;
}

/** Who the shop's alerts go to now, or null when alerts are off or no address is known. */
export async function alertRecipient(
  db: Db,
  shopId: string,
  graphql: () => Promise<AdminGraphql>,
  now: Date = new Date(),
): Promise<string | null> {
  const settings = await getAlertSettings(db, shopId);
  if (!settings.enabled) return null;
  if (settings.email) return settings.email;
  return refreshOwnerEmail(db, shopId, graphql, now);
}
