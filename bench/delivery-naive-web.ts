/**
 * The hand-written pipeline's capture endpoint, as a developer would first write it: a plain Node HTTP server
 * that checks the app proxy's signature, inserts the lead with Prisma and queues one BullMQ job carrying
 * everything the worker needs (shop, access token, receiver URL, signing secret, JSON body). No rate limits,
 * no idempotency, no outbox. Started by delivery.bench.ts (settings as JSON in argv[2]); prints `ready <pid> <port>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { buildLeadCapturedBody, serializeBody } from "../app/delivery/payload";
import { createDb } from "../app/lib/db.server";
import type { NaiveJob, NaiveSettings } from "./delivery-naive-worker";

const settings = JSON.parse(process.argv[2] ?? "{}") as NaiveSettings;
const db = createDb(process.env.DATABASE_URL!);
await db.$connect();
const queue = new Queue<NaiveJob>(settings.queueName, { connection: new Redis(process.env.REDIS_URL!), prefix: settings.prefix });
const JOB_OPTIONS = { attempts: 5, backoff: { type: "exponential", delay: 1000 }, removeOnComplete: true };

function signatureValid(query: URLSearchParams): boolean {
  const given = query.get("signature") ?? "";
  const message = [...query.entries()].filter(([k]) => k !== "signature").map(([k, v]) => `${k}=${v}`).sort().join("");
  const expected = createHmac("sha256", process.env.SHOPIFY_API_SECRET!).update(message).digest("hex");
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const shop = settings.shops[url.searchParams.get("shop") ?? ""];
      if (req.method !== "POST" || url.pathname !== "/proxy/capture" || !shop || !signatureValid(url.searchParams)) {
        res.writeHead(401).end();
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const lead = await db.lead.create({
        data: {
          shopId: shop.shopId, email: input.email, emailSearch: String(input.email).toLowerCase(),
          productId: input.product.id, productTitle: input.product.title, productUrl: input.product.url,
          variantId: input.product.variant?.id ?? null, variantTitle: input.product.variant?.title ?? null,
          resultContext: input.tryOn ? JSON.stringify(input.tryOn) : null, consent: Boolean(input.consent),
          utmSource: input.utm?.source ?? null, utmCampaign: input.utm?.campaign ?? null, pageUrl: input.pageUrl ?? null,
        },
      });
      const body = serializeBody(buildLeadCapturedBody(lead, shop.domain));
      await queue.add("lead", { leadId: lead.id, shop: shop.domain, email: lead.email, url: shop.url, secret: shop.secret, token: shop.token, body }, JOB_OPTIONS);
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ leadId: lead.id }));
    })().catch((error: unknown) => {
      process.stderr.write(`[naive web] ${String(error)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`ready ${process.pid} ${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => process.exit(0));
