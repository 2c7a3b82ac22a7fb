/**
 * The hand-written pipeline's worker, as a developer would first write it: one BullMQ job per lead carrying
 * everything (shop, access token, URL, signing secret, JSON body). It tags the shopper in Shopify (a customer
 * search, then a create with the tag, straight over fetch), signs the body with HMAC-SHA256, POSTs it with
 * fetch and marks the lead delivered; any failure (Shopify's THROTTLED answer included) throws and BullMQ's
 * retries with exponential backoff take over. Started by delivery.bench.ts (settings as JSON in argv[2], the
 * receivers' CA trusted through NODE_EXTRA_CA_CERTS); prints `ready <pid>`.
 */
import { createHmac } from "node:crypto";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { createDb } from "../app/lib/db.server";

export interface NaiveJob {
  leadId: string;
  shop: string;
  email: string;
  url: string;
  secret: string;
  token: string;
  body: string;
}

export interface NaiveSettings {
  queueName: string;
  prefix: string;
  concurrency: number;
  /** The Admin API stand-in, served over HTTP (it reads the shop from x-forwarded-host). */
  adminApiUrl: string;
  shops: Record<string, { shopId: string; domain: string; url: string; secret: string; token: string }>;
}

const settings = JSON.parse(process.argv[2] ?? "{}") as NaiveSettings;
const db = createDb(process.env.DATABASE_URL!);
await db.$connect();

async function shopify(job: NaiveJob, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${settings.adminApiUrl}/admin/api/2025-10/graphql.json`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-host": job.shop, "x-shopify-access-token": job.token },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
  if (!res.ok || answer.errors) throw new Error(`Shopify answered ${res.status}: ${JSON.stringify(answer.errors)}`);
  return answer.data!;
}

async function handle(job: { data: NaiveJob }): Promise<void> {
  const lead = job.data;
  const found = await shopify(lead, "query FindTryOnCustomer($query: String!) { customers(first: 1, query: $query) { nodes { id tags } } }", {
    query: `email:"${lead.email}"`,
  });
  if (!found.customers.nodes.length) {
    await shopify(lead, "mutation CreateTryOnCustomer($input: CustomerInput!) { customerCreate(input: $input) { customer { id } userErrors { message } } }", {
      input: { email: lead.email, tags: ["tryon-lead"] },
    });
  }
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", lead.secret).update(`${timestamp}.${lead.body}`).digest("hex");
  const res = await fetch(lead.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-tryoncloud-signature": `sha256=${signature}`, "x-tryoncloud-timestamp": String(timestamp) },
    body: lead.body,
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  await db.lead.update({ where: { id: lead.leadId }, data: { tagged: true, taggedAt: new Date() } });
}

const worker = new Worker<NaiveJob>(settings.queueName, handle, {
  connection: new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null }),
  prefix: settings.prefix,
  concurrency: settings.concurrency,
  removeOnComplete: { count: 0 },
});
worker.on("error", (error) => process.stderr.write(`[naive worker] ${String(error)}\n`));
await worker.waitUntilReady();
process.stdout.write(`ready ${process.pid}\n`);
process.on("SIGTERM", () => void worker.close().finally(() => process.exit(0)));
