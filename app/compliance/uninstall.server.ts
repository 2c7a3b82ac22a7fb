import { systemClock } from "../delivery/clock";
import { ledgerEntry, predatesInstall, webhookLogFields, type ComplianceDeps } from "./deps";
import { claimWebhook } from "./ledger.server";
import type { VerifiedWebhook } from "./verify-webhook.server";

/**
 * app/uninstalled: the shop's sessions are deleted (the tokens are revoked anyway) and the shop is marked
 * uninstalled. Nothing is sent for it from then on: the delivery worker and the reconciler skip deliveries
 * of a shop with `uninstalledAt` set, so waiting deliveries stay pending, unsent. Everything else is kept
 * until shop/redact; a reinstall (ensureShop) clears the mark and the waiting deliveries go out.
 */

export interface Uninstall {
  outcome: "uninstalled" | "unknown_shop" | "reinstalled";
  sessions: number;
}

export async function recordUninstall(deps: ComplianceDeps, webhook: VerifiedWebhook): Promise<Uninstall> {
  const now = (deps.clock ?? systemClock).now();
  const result = await deps.db.$transaction(async (tx): Promise<Uninstall> => {
    await claimWebhook(tx, ledgerEntry(webhook), now);
    const shop = await tx.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true, installedAt: true } });
    if (shop && predatesInstall(webhook, shop)) return { outcome: "reinstalled", sessions: 0 };
    const sessions = await tx.session.deleteMany({ where: { shop: webhook.shop } });
    if (!shop) return { outcome: "unknown_shop", sessions: sessions.count };
    await tx.shop.updateMany({ where: { id: shop.id, uninstalledAt: null }, data: { uninstalledAt: now } });
    return { outcome: "uninstalled", sessions: sessions.count };
  });
  deps.logger.info({ ...webhookLogFields(webhook), ...result }, result.outcome === "reinstalled" ? "late uninstall ignored: reinstalled since" : "shop uninstalled");
  return result;
}
