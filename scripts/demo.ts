/**
 * The whole path on one machine, with no Shopify account: the production app server (SQLite, local Redis)
 * receives try-on leads through its real capture route with valid app-proxy signatures; delivery and
 * tagging workers carry them to a local HTTPS receiver that verifies every request with the contract's
 * recipe and with the stock Standard Webhooks libraries. Prints what arrived and how fast; exits 1 if any
 * lead is missing or any signature failed.
 *
 * What is local here and real in production: the receiver (the merchant's CRM), Shopify's Admin API (a
 * stand-in answering the customer calls) and Shopify's app proxy (this script signs requests as Shopify
 * does, with the app secret from .env). The demo's workers are told, in code, to allow the loopback
 * receiver and trust its throwaway CA; the app server itself runs with production settings.
 *
 *   npm start                  # set-up, build, then this script
 *   npm run demo -- --leads 100
 */
import { randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";

const LEADS = Number(process.argv[process.argv.indexOf("--leads") + 1]) || 25;
const CONCURRENCY = 8;
const TIMEOUT_MS = 60_000;
const SHOP = "demo-try-on-store.myshopify.com";
const dbFile = path.resolve(`demo-${randomBytes(3).toString("hex")}.sqlite`);
const prefix = `demo${randomBytes(3).toString("hex")}`;

// The demo's own database and Redis namespace; keys and the app secret come from .env (npm start writes it).
// This script plays Shopify's app proxy, the one proxy in front of the app: it names each shopper's address
// in X-Forwarded-For, and the app counts rate limits per address from there.
Object.assign(process.env, {
  TRUSTED_PROXY_HOPS: "1",
  DATABASE_URL: `file:${dbFile}`,
  QUEUE_PREFIX: prefix,
  RUN_WORKER_IN_PROCESS: "false",
  LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? "warn",
});

const { getConfig } = await import("../app/lib/config.server");
const { migrateDatabase } = await import("../app/lib/db-migrate.server");
// Before anything opens the session storage, which checks for its table when it is created.
await migrateDatabase(getConfig().DATABASE_URL);
const { getDb, prepareDb } = await import("../app/lib/db.server");
const { getLogger } = await import("../app/lib/logger.server");
const { ensureShop } = await import("../app/shops/shops.server");
const { connectEndpoint } = await import("../app/destinations/endpoints.server");
const { createAddressPolicy } = await import("../app/delivery/ssrf.server");
const { startBackgroundWork } = await import("../app/runtime/background.server");
const { startHttpsReceiver } = await import("../test/support/https-receiver");
const { FakeAdminApi } = await import("../test/support/fake-admin-api");
const { signProxyQuery } = await import("../test/support/proxy-signature");

const config = getConfig();
const logger = getLogger();
const cleanups: (() => Promise<unknown> | unknown)[] = [];

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function main(): Promise<number> {
  console.log(`▸ Demo: ${LEADS} try-on leads from the storefront to a CRM endpoint, on this machine`);
  cleanups.push(() => ["", "-wal", "-shm"].forEach((s) => rmSync(dbFile + s, { force: true })));
  const db = getDb();
  await prepareDb(db, config.DATABASE_URL);

  // The merchant installed the app (token exchange stored an offline session) and connected a webhook.
  const shop = await ensureShop(db, SHOP);
  await db.session.create({
    data: { id: `offline_${SHOP}`, shop: SHOP, state: "demo", isOnline: false, scope: config.SCOPES, accessToken: "demo-offline-token", expires: new Date(Date.now() + 86_400_000) },
  });
  const receiver = await startHttpsReceiver();
  cleanups.push(() => receiver.close());
  const loopbackOnlyForThisDemo = createAddressPolicy({ allowAddresses: ["127.0.0.1"] });
  const ring = { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion };
  const { secret } = await connectEndpoint({ db, shop, url: receiver.url, ring, destination: { policy: loopbackOnlyForThisDemo } });
  receiver.setSecrets([secret]);
  console.log(`  CRM endpoint  ${receiver.url} (HTTPS, throwaway CA)`);

  // Shopify's Admin API, answered locally, so the shopper really gets tagged as a customer.
  const adminApi = new FakeAdminApi();
  adminApi.install();

  // The production build, served in this process: SQLite allows one process (see the README).
  const { startHttpServer } = await import("../server-app.mjs");
  const http = await startHttpServer({ port: 0, host: "127.0.0.1" });
  cleanups.push(() => http.close());
  const port = http.port;
  console.log(`  app server    http://127.0.0.1:${port} (production build, SQLite, Redis prefix ${prefix})`);

  // The background work exactly as the app wires it, told in code to reach the loopback receiver.
  const work = await startBackgroundWork({ config, logger, db, transport: { policy: loopbackOnlyForThisDemo, extraCa: receiver.ca } });
  cleanups.push(() => work.stop());

  // The storefront widget's submissions, forwarded and signed as Shopify's app proxy does.
  const sentAt = new Map<string, number>();
  let refused = 0;
  const emails = Array.from({ length: LEADS }, (_, i) => `shopper${i + 1}.${randomBytes(2).toString("hex")}@example.com`);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < emails.length) {
        const email = emails[next++];
        const params: [string, string][] = [
          ["shop", SHOP], ["logged_in_customer_id", ""], ["path_prefix", "/apps/tryon-leads"], ["timestamp", String(Math.trunc(Date.now() / 1000))],
        ];
        const query = new URLSearchParams([...params, ["signature", signProxyQuery(params, config.SHOPIFY_API_SECRET)]]);
        const t0 = Date.now();
        const response = await fetch(`http://127.0.0.1:${port}/proxy/capture?${query}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Forwarded-For": `198.51.100.${1 + (next % 200)}` },
          body: JSON.stringify({
            email, consent: true,
            product: { id: "8001", title: "Aviator Sunglasses", url: `https://${SHOP}/products/aviator`, variant: { id: "9001", title: "Gold" } },
            tryOn: { resultId: randomUUID(), model: "glasses-v2" },
            utm: { source: "demo", campaign: "try-on" },
            pageUrl: `https://${SHOP}/products/aviator?utm_source=demo`,
            idempotencyKey: randomUUID(), locale: "en",
          }),
        });
        const answer = (await response.json()) as { leadId?: string };
        if (response.status === 201 && answer.leadId) sentAt.set(answer.leadId, t0);
        else refused++;
      }
    }),
  );
  console.log(`  captured      ${sentAt.size}/${LEADS} leads through the capture route in ${Date.now() - started} ms${refused ? ` (${refused} refused)` : ""}`);

  // Wait for every captured lead to reach the receiver.
  const arrived = new Map<string, { at: number; contract: boolean; standard: boolean; svix: boolean; tagged: boolean; deliveryId: string }>();
  const deadline = Date.now() + TIMEOUT_MS;
  let duplicates = 0;
  let seen = 0;
  while (Date.now() < deadline && arrived.size < sentAt.size) {
    for (; seen < receiver.requests.length; seen++) {
      const r = receiver.requests[seen];
      const body = JSON.parse(r.body) as { lead_id: string; tagged_in_shopify: boolean };
      if (arrived.has(body.lead_id)) {
        duplicates++;
        continue;
      }
      arrived.set(body.lead_id, {
        at: r.receivedAt.getTime(), contract: r.contract.verified, standard: r.standard.verified, svix: r.svix.verified,
        tagged: body.tagged_in_shopify, deliveryId: String(r.headers["x-tryoncloud-delivery-id"]),
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const latencies = [...arrived.entries()].map(([id, a]) => a.at - (sentAt.get(id) ?? a.at)).sort((a, b) => a - b);
  const all = [...arrived.values()];
  const missing = [...sentAt.keys()].filter((id) => !arrived.has(id));
  const unverified = all.filter((a) => !a.contract || !a.standard || !a.svix).length;
  const tagged = await db.lead.count({ where: { shopId: shop.id, tagged: true } });
  const leads = await db.lead.findMany({ where: { shopId: shop.id }, select: { capturedAt: true, taggedAt: true, deliveries: { select: { attempts: { select: { startedAt: true, durationMs: true } } } } } });
  const stage = (values: number[]) => { const v = values.sort((a, b) => a - b); return `p50 ${percentile(v, 50)} ms`; };
  const toTag = leads.filter((l) => l.taggedAt).map((l) => l.taggedAt!.getTime() - l.capturedAt.getTime());
  const firstAttempts = leads.flatMap((l) => l.deliveries.map((d) => ({ l, a: d.attempts[0] }))).filter((x) => x.a);
  const tagToSend = firstAttempts.filter((x) => x.l.taggedAt).map((x) => x.a.startedAt.getTime() - x.l.taggedAt!.getTime());
  console.log(`  stages        capture → tagged ${stage(toTag)}; tagged → first attempt ${stage(tagToSend)}; attempt ${stage(firstAttempts.map((x) => x.a.durationMs))}`);
  console.log(`  delivered     ${arrived.size}/${sentAt.size} leads to the CRM endpoint${duplicates ? ` (+${duplicates} repeats with the same delivery id)` : ""}`);
  console.log(`  signatures    ${all.filter((a) => a.contract).length} verified by the contract recipe, ${all.filter((a) => a.standard).length} by standardwebhooks, ${all.filter((a) => a.svix).length} by svix`);
  console.log(`  latency       capture → CRM p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1) ?? NaN} ms`);
  console.log(`  Shopify       ${tagged}/${sentAt.size} shoppers tagged as try-on leads; ${all.filter((a) => a.tagged).length} deliveries say tagged_in_shopify`);

  const ok = refused === 0 && missing.length === 0 && unverified === 0 && sentAt.size === LEADS;
  console.log(ok ? "✔ every lead arrived, signed and verified" : `✘ ${missing.length + refused} lead(s) missing, ${unverified} failed verification`);
  return ok ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`✘ demo failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  const { Redis } = await import("ioredis");
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
  if (keys.length) await redis.del(...keys).catch(() => undefined);
  redis.disconnect();
  await getDb().$disconnect().catch(() => undefined);
}
process.exit(code);
