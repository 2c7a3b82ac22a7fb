import type { Db } from "../../lib/db.server";
import type { KeyRing } from "../../lib/secret-box.server";
import { openCredentials } from "../endpoint-secrets.server";
import { LIVE_STATES } from "../endpoints.server";
import { IntegrationEndpointNotFoundError } from "../errors";
import { parseKlaviyoCredentials } from "./destination";
import type { KlaviyoExchange } from "./klaviyo-api";
import { fetchKlaviyoLists, type KlaviyoListsResult } from "./lists";

/**
 * The lists of the Klaviyo account a connected destination's stored key opens, for the merchant to pick one
 * on the destination's page. The key is decrypted for these requests only and never leaves the server.
 */
export async function listsOfKlaviyoDestination(input: {
  db: Db;
  shopId: string;
  destinationId: string;
  ring: KeyRing;
  exchange: KlaviyoExchange;
}): Promise<KlaviyoListsResult> {
  const row = await input.db.destination.findFirst({
    where: { id: input.destinationId, shopId: input.shopId, kind: "klaviyo", state: { in: [...LIVE_STATES] } },
    select: { id: true, shopId: true, credentialsCiphertext: true },
  });
  if (!row) throw new IntegrationEndpointNotFoundError();
  let credentials = null;
  try {
    credentials = row.credentialsCiphertext ? parseKlaviyoCredentials(openCredentials(row.credentialsCiphertext, input.ring, row)) : null;
  } catch {
    credentials = null;
  }
  if (!credentials) {
    return { ok: false, keyRejected: true, message: "The stored Klaviyo key could not be read. Paste your private API key again to replace it." };
  }
  return fetchKlaviyoLists({ apiKey: credentials.apiKey, exchange: input.exchange });
}
