import { Writable } from "node:stream";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { createWebhookSender, type WebhookSenderOptions } from "../../app/delivery/http-sender.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { getDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import type { TestSendDeps } from "../../app/destinations/test-send.server";
import { action, loader } from "../../app/routes/app.leads.integrations.webhook";
import type { WebhookActionData } from "../../app/destinations/ui/action-data";
import type { HttpsReceiver } from "../support/https-receiver";
import { adminRequest, formRequest } from "../support/shopify";

/** Shared by the integrations tests: loopback delivery with the test CA, route calls, log and Redis capture. */

/** Only the receiver's loopback addresses are allowed next to public ones; production allows none. */
export const LOOPBACK_POLICY = createAddressPolicy({ allowAddresses: ["127.0.0.1", "::1"] });

/** The delivery path's destination options for a loopback receiver. */
export const LOOPBACK_DESTINATION = { policy: LOOPBACK_POLICY };

export function loopbackSender(receiver: HttpsReceiver, overrides: WebhookSenderOptions = {}) {
  return createWebhookSender({ policy: LOOPBACK_POLICY, extraCa: receiver.ca, deadlineMs: 3_000, ...overrides });
}

/** A logger that keeps every line it is given, at the most verbose level. */
export function captureLogger(): { logger: Logger; output: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: "trace", destination }), output: () => lines.join("") };
}

export function testSendDeps(receiver: HttpsReceiver, logger: Logger, overrides: WebhookSenderOptions = {}): TestSendDeps {
  const sender = loopbackSender(receiver, { logger, ...overrides });
  return { db: getDb(), send: (r) => sender.send(r), keyRing: keyRingFromConfig(), logger };
}

export type LoaderData = Exclude<Awaited<ReturnType<typeof loader>>, Response>;

/** Runs the webhook page's loader as the given shop; a thrown Response is returned. */
export async function loadWebhookPage(shop: string, query = ""): Promise<LoaderData | Response> {
  try {
    return await loader({ request: await adminRequest(`/app/leads/integrations/webhook${query}`, shop), params: {}, context: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

export async function loadWebhookPageData(shop: string, query = ""): Promise<LoaderData> {
  const result = await loadWebhookPage(shop, query);
  if (result instanceof Response) throw new Error(`webhook page answered ${result.status}`);
  return result;
}

export interface ActionAnswer {
  status: number;
  data: WebhookActionData | null;
  headers: Headers;
  /** The raw text of a thrown Response (404s). */
  text?: string;
}

/** Posts a form to the webhook page's action as the given shop, unwrapping `data()` and thrown Responses. */
export async function postWebhookForm(shop: string, fields: Record<string, string>): Promise<ActionAnswer> {
  try {
    const result: unknown = await action({ request: await formRequest("/app/leads/integrations/webhook", shop, fields), params: {}, context: {} });
    if (result && typeof result === "object" && (result as { type?: string }).type === "DataWithResponseInit") {
      const { data, init } = result as { data: WebhookActionData; init: ResponseInit | null };
      return { status: init?.status ?? 200, data, headers: new Headers(init?.headers) };
    }
    return { status: 200, data: result as WebhookActionData, headers: new Headers() };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, data: null, headers: thrown.headers, text: await thrown.text() };
    throw thrown;
  }
}

/** Every key and value in Redis, as one text (SCAN, never KEYS). */
export async function dumpRedis(redis: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      const type = await redis.type(key);
      if (type === "string") parts.push((await redis.get(key)) ?? "");
      else if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === "list") parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === "set") parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === "zset") parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === "stream") parts.push(JSON.stringify(await redis.xrange(key, "-", "+")));
    }
  } while (cursor !== "0");
  return parts.join("\n");
}
