import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Clock } from "../../app/delivery/clock";
import type { CapturedLead } from "../../app/delivery/outbox.server";
import { generateSigningSecret } from "../../app/delivery/signing";
import { getConfig } from "../../app/lib/config.server";
import { createRedis } from "../../app/lib/redis.server";
import { getDb } from "../../app/lib/db.server";
import { encryptSecret, type KeyRing } from "../../app/lib/secret-box.server";
import { ensureShop } from "../../app/shops/shops.server";

/** Helpers shared by the delivery engine's tests: shops with endpoints, queues of their own, a movable clock. */

export function testKeyRing(): KeyRing {
  const config = getConfig();
  return { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion };
}

export interface TestEndpoint {
  id: string;
  shopId: string;
  shopDomain: string;
  secret: string;
}

/** A shop with one endpoint whose signing secret is stored encrypted, as the settings page would store it. */
export async function createShopWithEndpoint(domain: string, url: string, options: { state?: string } = {}): Promise<TestEndpoint> {
  const shop = await ensureShop(getDb(), domain);
  return addEndpoint(shop, url, options);
}

export async function addEndpoint(shop: { id: string; domain: string }, url: string, options: { state?: string } = {}): Promise<TestEndpoint> {
  const db = getDb();
  const secret = generateSigningSecret();
  // The ciphertext is bound to the endpoint id, so the row gets its id first.
  const id = `ep_${randomBytes(8).toString("hex")}`;
  const { stored, keyVersion } = encryptSecret(secret, testKeyRing(), { shopId: shop.id, destinationId: id, purpose: "webhook-signing" });
  await db.destination.create({
    data: { id, shopId: shop.id, url, state: options.state ?? "active", secretCiphertext: stored, secretKeyVersion: keyVersion },
  });
  return { id, shopId: shop.id, shopDomain: shop.domain, secret };
}

let leadCounter = 0;

export function sampleLead(endpoint: { shopId: string; shopDomain: string }, overrides: Partial<CapturedLead> = {}): CapturedLead {
  leadCounter++;
  return {
    shopId: endpoint.shopId,
    shopDomain: endpoint.shopDomain,
    email: `shopper${leadCounter}.${randomBytes(3).toString("hex")}@example.org`,
    productId: "gid://shopify/Product/1001",
    productTitle: "Aviator frames",
    productUrl: `https://${endpoint.shopDomain}/products/aviator`,
    variantId: "gid://shopify/ProductVariant/2002",
    variantTitle: "Gold / Large",
    resultContext: { fit: "good", frameWidthMm: 140 },
    consent: true,
    utm: { source: "instagram", campaign: "spring" },
    pageUrl: `https://${endpoint.shopDomain}/products/aviator?utm_source=instagram`,
    ...overrides,
  };
}

/** A queue name and key prefix no other test file uses, so cleaning up never touches their keys. */
export function uniqueQueue(label: string): { queueName: string; prefix: string } {
  const id = randomBytes(4).toString("hex");
  return { queueName: `deliveries-${label}-${id}`, prefix: `tryon-test-${id}` };
}

export function testRedis(role: "worker" | "producer" = "worker"): Redis {
  // The tests run on one Redis node (the cluster test makes its own connections).
  return createRedis({ REDIS_URL: getConfig().REDIS_URL }, role) as Redis;
}

/** Every key under a prefix (SCAN, never KEYS, so a busy shared Redis is not blocked). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** Deletes this test's keys only: what a Redis flush or restart without persistence does to our queue. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length) await redis.del(...keys);
  return keys.length;
}

/** Every value stored under a prefix, as text, whatever the key's type. */
export async function dumpKeysUnder(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    parts.push(key);
    if (type === "string") parts.push((await redis.get(key)) ?? "");
    else if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === "list") parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === "set") parts.push(JSON.stringify(await redis.smembers(key)));
    else if (type === "zset") parts.push(JSON.stringify(await redis.zrange(key, 0, -1, "WITHSCORES")));
    else if (type === "stream") parts.push(JSON.stringify(await redis.xrange(key, "-", "+")));
  }
  return parts.join("\n");
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date = new Date()) {
    this.current = start.getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date): void {
    this.current = at.getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Polls until `check` returns a truthy value (returned) or the time runs out. */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Makes every insert into `table` fail inside the database with `message`, as a crash or a constraint
 * would; returns the function that restores it. A trigger, so production code needs no hook for it.
 */
export async function failInserts(table: "Delivery" | "DeliveryAttempt", message: string): Promise<() => Promise<void>> {
  const db = getDb();
  const name = `fail_${table.toLowerCase()}_insert`;
  const quoted = message.replace(/'/g, "''");
  if (getConfig().databaseProvider === "sqlite") {
    await db.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON "${table}" BEGIN SELECT RAISE(ABORT, '${quoted}'); END`);
    return async () => void (await db.$executeRawUnsafe(`DROP TRIGGER ${name}`));
  }
  await db.$executeRawUnsafe(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '${quoted}'; END $$ LANGUAGE plpgsql`);
  await db.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON "${table}" FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.$executeRawUnsafe(`DROP TRIGGER ${name} ON "${table}"`);
    await db.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  };
}
