import type { Db } from "../../lib/db.server";
import type { KeyRing } from "../../lib/secret-box.server";
import type { ShopRef } from "../../shops/shops.server";
import { serializeEvents, serializeProductIds } from "../../delivery/destination-rules";
import { buildLeadCapturedBody } from "../../delivery/payload";
import { generateSigningSecret } from "../../delivery/signing";
import type { DestinationCheckOptions } from "../../delivery/ssrf.server";
import { openCredentials, sealCredentials, sealSigningSecret } from "../endpoint-secrets.server";
import {
  assertRoomForDestination, destinationName, endpointViewSelect, lockShopRow, LIVE_STATES, toEndpointView, vetEndpointUrl, type EndpointView,
} from "../endpoints.server";
import { IntegrationEndpointNotFoundError } from "../errors";
import type { SecretHeaderValues } from "./definition";
import type { DefinitionProblem } from "./render-request";
import { sampleTemplateFields } from "./field-reference";
import { previewHttpRequest, type PreviewResult } from "./preview";
import { parseDefinition, parseHttpCredentials } from "./sender";
import { buildTemplateFields } from "./template-fields";
import { splitUrlTemplate } from "./url-template";
import { validateHttpRequestDefinition } from "./validate-definition";

/**
 * Saving an HTTP-request destination: the definition is validated (templates rendered on sample leads, errors
 * with their line), its fixed origin checked by the address guard as any destination's URL, secret header
 * values stored encrypted and never shown again, and a signing secret made (shown once) so that receivers
 * that can verify requests, may.
 */

export type SaveHttpRequestResult =
  | { ok: true; destination: EndpointView; secret: string | null }
  | { ok: false; problems: DefinitionProblem[] };

export interface SaveHttpRequestInput {
  db: Db;
  shop: ShopRef;
  ring: KeyRing;
  /** As the form sent it: method, url, headers, bodyEncoding, body. */
  definition: unknown;
  /**
   * Secret header values by header name. On an update, a header left out keeps its stored value; an empty
   * string removes it.
   */
  secretValues?: SecretHeaderValues;
  name?: string;
  productIds?: readonly string[] | null;
  /** The address guard's resolver and policy; production defaults when omitted. */
  destination?: DestinationCheckOptions;
  now?: Date;
}

async function validated(input: SaveHttpRequestInput, secretValues: SecretHeaderValues) {
  const check = validateHttpRequestDefinition(input.definition, { secretValues });
  if (!check.ok) return check;
  const split = splitUrlTemplate(check.definition.url);
  if (!split.ok) return { ok: false as const, problems: [{ field: "url", message: split.problem }] };
  try {
    // The origin is vetted now, as every destination URL is; the rendered URL is vetted again at every send.
    await vetEndpointUrl(`${split.parts.origin}/`, input.destination);
  } catch (error) {
    return { ok: false as const, problems: [{ field: "url", message: error instanceof Error ? error.message : "The address cannot be used" }] };
  }
  return { ok: true as const, definition: check.definition, origin: split.parts.origin };
}

export async function connectHttpRequest(input: SaveHttpRequestInput): Promise<SaveHttpRequestResult> {
  const secretValues = input.secretValues ?? {};
  const check = await validated(input, secretValues);
  if (!check.ok) return check;
  const { db, shop, ring } = input;
  const now = input.now ?? new Date();
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    await assertRoomForDestination(tx, shop.id);
    const created = await tx.destination.create({
      data: {
        shopId: shop.id, kind: "http_request", name: destinationName(input.name, "HTTP request"), url: check.origin, state: "active",
        events: serializeEvents(["lead_captured"]), productIds: serializeProductIds(input.productIds ?? null),
        settings: JSON.stringify(check.definition), secretCiphertext: "", secretKeyVersion: ring.currentVersion, createdAt: now,
      },
      select: { id: true, shopId: true },
    });
    const signing = sealSigningSecret(secret, ring, created);
    const credentials = sealCredentials({ headers: secretValues }, ring, created);
    return tx.destination.update({
      where: { id: created.id },
      data: {
        secretCiphertext: signing.stored, secretKeyVersion: signing.keyVersion,
        credentialsCiphertext: credentials.stored, credentialsKeyVersion: credentials.keyVersion,
      },
      select: endpointViewSelect,
    });
  });
  return { ok: true, destination: toEndpointView(row, now), secret };
}

export async function updateHttpRequest(input: SaveHttpRequestInput & { destinationId: string }): Promise<SaveHttpRequestResult> {
  const { db, shop, ring } = input;
  const current = await db.destination.findFirst({
    where: { id: input.destinationId, shopId: shop.id, kind: "http_request", state: { in: [...LIVE_STATES] } },
    select: { id: true, shopId: true, credentialsCiphertext: true },
  });
  if (!current) throw new IntegrationEndpointNotFoundError();
  const stored = parseHttpCredentials(current.credentialsCiphertext ? openCredentials(current.credentialsCiphertext, ring, current) : null).headers;
  const merged: Record<string, string> = { ...stored };
  for (const [name, value] of Object.entries(input.secretValues ?? {})) {
    if (value === "") delete merged[name];
    else merged[name] = value;
  }
  const check = await validated(input, merged);
  if (!check.ok) return check;
  const credentials = sealCredentials({ headers: merged }, ring, current);
  const row = await db.destination.update({
    where: { id: current.id },
    data: {
      settings: JSON.stringify(check.definition), url: check.origin,
      credentialsCiphertext: credentials.stored, credentialsKeyVersion: credentials.keyVersion,
      ...(input.name !== undefined ? { name: destinationName(input.name, "HTTP request") } : {}),
    },
    select: endpointViewSelect,
  });
  return { ok: true, destination: toEndpointView(row), secret: null };
}

/**
 * The exact request a definition makes, on the shop's latest lead (or a sample one when there is none yet),
 * with secret header values masked. `definition` previews unsaved changes; without it, the saved one.
 */
export async function previewDestinationRequest(input: {
  db: Db;
  shop: ShopRef;
  ring: KeyRing;
  destinationId?: string;
  definition?: unknown;
}): Promise<PreviewResult & { basedOn: "latest_lead" | "sample_lead" }> {
  const { db, shop } = input;
  let definition = input.definition;
  let secretValues: SecretHeaderValues = {};
  if (input.destinationId) {
    const row = await db.destination.findFirst({
      where: { id: input.destinationId, shopId: shop.id, kind: "http_request", state: { in: [...LIVE_STATES] } },
      select: { id: true, shopId: true, settings: true, credentialsCiphertext: true },
    });
    if (!row) throw new IntegrationEndpointNotFoundError();
    definition ??= parseDefinition(row.settings);
    secretValues = parseHttpCredentials(row.credentialsCiphertext ? openCredentials(row.credentialsCiphertext, input.ring, row) : null).headers;
  }
  const check = validateHttpRequestDefinition(definition);
  if (!check.ok) return { ok: false, problems: check.problems, basedOn: "sample_lead" };
  const latest = await db.lead.findFirst({ where: { shopId: shop.id }, orderBy: [{ capturedAt: "desc" }, { id: "desc" }] });
  const fields = latest
    ? buildTemplateFields({ body: buildLeadCapturedBody(latest, shop.domain), deliveryId: "preview" })
    : sampleTemplateFields();
  return { ...previewHttpRequest(check.definition, fields, secretValues), basedOn: latest ? "latest_lead" : "sample_lead" };
}
