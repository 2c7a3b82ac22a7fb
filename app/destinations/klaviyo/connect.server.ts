import type { Db } from "../../lib/db.server";
import type { KeyRing } from "../../lib/secret-box.server";
import type { ShopRef } from "../../shops/shops.server";
import { serializeEvents, serializeProductIds, type DestinationEvent } from "../../delivery/destination-rules";
import { sealCredentials } from "../endpoint-secrets.server";
import {
  assertRoomForDestination, destinationName, endpointViewSelect, lockShopRow, LIVE_STATES, toEndpointView, type EndpointView,
} from "../endpoints.server";
import { DestinationSettingsError, IntegrationEndpointNotFoundError } from "../errors";
import { parseKlaviyoSettings, serializeKlaviyoSettings } from "./destination";
import { KLAVIYO_BASE_URL, type KlaviyoExchange } from "./klaviyo-api";
import { checkKlaviyoKey } from "./key-check";
import { DEFAULT_METRIC_NAME, InvalidMetricNameError, normaliseMetricName } from "./requests";

/**
 * Connecting Klaviyo: the pasted key is checked with a harmless read (Get Accounts) before anything is saved,
 * and stored only encrypted; the merchant sees its last four characters from then on.
 */

export interface KlaviyoChoices {
  /** The event's name in Klaviyo. @defaultValue "Try-On Lead" */
  metricName?: string;
  /** A list consenting shoppers join; none for events only. */
  listId?: string | null;
  listName?: string | null;
  events?: readonly DestinationEvent[];
  productIds?: readonly string[] | null;
  name?: string;
}

export interface ConnectKlaviyoInput extends KlaviyoChoices {
  db: Db;
  shop: ShopRef;
  apiKey: string;
  ring: KeyRing;
  /** The Admin-side sender (a short deadline suits a page the merchant waits on). */
  exchange: KlaviyoExchange;
  now?: Date;
}

export type ConnectKlaviyoResult =
  | { ok: true; destination: EndpointView; unconfirmedScopes: string[]; message: string }
  | { ok: false; field: "apiKey"; message: string };

export async function connectKlaviyo(input: ConnectKlaviyoInput): Promise<ConnectKlaviyoResult> {
  const metricName = metricNameOf(input.metricName);
  const events = input.events ?? ["lead_captured"];
  const check = await checkKlaviyoKey({
    apiKey: input.apiKey, exchange: input.exchange,
    features: { listSubscription: Boolean(input.listId), profileDeletion: events.includes("lead_redacted") },
  });
  if (!check.ok) return { ok: false, field: "apiKey", message: check.message };
  const now = input.now ?? new Date();
  const { db, shop, ring } = input;
  const row = await db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    await assertRoomForDestination(tx, shop.id);
    const created = await tx.destination.create({
      data: {
        shopId: shop.id, kind: "klaviyo", name: destinationName(input.name, "Klaviyo"), url: KLAVIYO_BASE_URL, state: "active",
        events: serializeEvents(events), productIds: serializeProductIds(input.productIds ?? null),
        settings: serializeKlaviyoSettings({
          metricName, listId: input.listId || null, listName: input.listId ? input.listName ?? null : null,
          accountName: check.account.organizationName,
        }),
        // Klaviyo requests are not signed: there is no signing secret to keep.
        secretCiphertext: "", secretKeyVersion: ring.currentVersion, credentialsHint: check.keyLastFour, createdAt: now,
      },
      select: { id: true, shopId: true },
    });
    const sealed = sealCredentials({ apiKey: check.apiKey }, ring, created);
    return tx.destination.update({
      where: { id: created.id },
      data: { credentialsCiphertext: sealed.stored, credentialsKeyVersion: sealed.keyVersion },
      select: endpointViewSelect,
    });
  });
  return { ok: true, destination: toEndpointView(row, now), unconfirmedScopes: check.unconfirmedScopes, message: check.message };
}

export interface UpdateKlaviyoInput extends Pick<KlaviyoChoices, "metricName" | "listId" | "listName"> {
  db: Db;
  shop: ShopRef;
  destinationId: string;
  /** A new key to replace the stored one (checked first); the stored one is kept when absent. */
  apiKey?: string;
  ring: KeyRing;
  exchange: KlaviyoExchange;
}

/** Changes the event name or the list, or replaces the key (a paused "key rejected" destination is resumed by the merchant). */
export async function updateKlaviyo(input: UpdateKlaviyoInput): Promise<ConnectKlaviyoResult> {
  const { db, shop, ring } = input;
  const current = await db.destination.findFirst({
    where: { id: input.destinationId, shopId: shop.id, kind: "klaviyo", state: { in: [...LIVE_STATES] } },
    select: { id: true, shopId: true, settings: true, events: true },
  });
  if (!current) throw new IntegrationEndpointNotFoundError();
  const settings = parseKlaviyoSettings(current.settings);
  const next = {
    ...settings,
    metricName: input.metricName === undefined ? settings.metricName : metricNameOf(input.metricName),
    listId: input.listId === undefined ? settings.listId : input.listId || null,
    listName: input.listId === undefined ? settings.listName : input.listId ? input.listName ?? null : null,
  };
  const data: { settings: string; credentialsCiphertext?: string; credentialsKeyVersion?: number; credentialsHint?: string } = {
    settings: serializeKlaviyoSettings(next),
  };
  if (input.apiKey !== undefined) {
    const check = await checkKlaviyoKey({
      apiKey: input.apiKey, exchange: input.exchange,
      features: { listSubscription: Boolean(next.listId), profileDeletion: current.events.includes("lead_redacted") },
    });
    if (!check.ok) return { ok: false, field: "apiKey", message: check.message };
    const sealed = sealCredentials({ apiKey: check.apiKey }, ring, current);
    Object.assign(data, { credentialsCiphertext: sealed.stored, credentialsKeyVersion: sealed.keyVersion, credentialsHint: check.keyLastFour });
    next.accountName = check.account.organizationName;
    data.settings = serializeKlaviyoSettings(next);
  }
  const row = await db.destination.update({ where: { id: current.id }, data, select: endpointViewSelect });
  return { ok: true, destination: toEndpointView(row), unconfirmedScopes: [], message: "Saved." };
}

function metricNameOf(typed: string | undefined): string {
  try {
    return normaliseMetricName(typed === undefined || typed.trim() === "" ? DEFAULT_METRIC_NAME : typed);
  } catch (error) {
    if (error instanceof InvalidMetricNameError) throw new DestinationSettingsError("metricName", `${error.message}.`);
    throw error;
  }
}
