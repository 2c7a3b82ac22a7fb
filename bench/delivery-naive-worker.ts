/**
 * The hand-written pipeline's worker, as a developer would first write it: the job carries everything
 * (URL, signing secret, JSON body, lead id); the worker signs the body with HMAC-SHA256, POSTs it with
 * fetch, and marks the lead delivered. BullMQ's retries with backoff handle failures. Runs in a process
 * of its own (started by delivery.bench.ts, which points NODE_EXTRA_CA_CERTS at the receiver's test CA,
 * the usual way to make fetch trust it).
 */
import { createHmac } from "node:crypto";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { createDb } from "../app/lib/db.server";
import { countDriverCalls, serveWorker } from "./delivery-common";

export interface NaiveJob {
  url: string;
  secret: string;
  body: string;
  leadId: string;
}

await countDriverCalls();
const db = createDb(process.env.DATABASE_URL!);
await db.$connect();
const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });

async function deliver(job: { data: NaiveJob }): Promise<void> {
  const { url, secret, body, leadId } = job.data;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret).update(body).digest("hex");
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-tryoncloud-signature": `sha256=${signature}`, "x-tryoncloud-timestamp": String(timestamp) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  await db.$executeRaw`UPDATE "Lead" SET "webhookStatus" = 'delivered', "webhookDeliveredAt" = NOW() WHERE "id" = ${leadId}`;
}

serveWorker(async (phase) => {
  const worker = new Worker<NaiveJob>(phase.queueName, deliver, { connection, prefix: phase.prefix, concurrency: phase.concurrency });
  let failed = 0;
  worker.on("failed", () => void failed++);
  worker.on("error", (error) => process.stderr.write(`[naive worker] ${error}\n`));
  await worker.waitUntilReady();
  return { close: () => worker.close(), failedJobs: () => failed };
});
