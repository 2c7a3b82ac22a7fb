import { createTestDelivery, recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { getDb } from "../../app/lib/db.server";
import { uniqueShop } from "../compliance/support";
import { createShopWithEndpoint, ManualClock, sampleLead, type TestEndpoint } from "../support/delivery";

/** Helpers for the retention tests: rows of a given age, as the worker leaves them. */

export { captureLogs, uniqueShop } from "../compliance/support";

export const DAY_MS = 86_400_000;

export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export async function shopWithEndpoint(label: string, url = "https://crm.example/hooks/leads"): Promise<TestEndpoint> {
  return createShopWithEndpoint(uniqueShop(label), url);
}

/** A lead captured at `at`, with its one delivery (to the shop's endpoint) still pending. */
export async function leadCapturedAt(endpoint: TestEndpoint, at: Date, overrides: Parameters<typeof sampleLead>[1] = {}) {
  const recorded = await recordLeadWithDeliveries(getDb(), sampleLead(endpoint, overrides), { clock: new ManualClock(at) });
  return { lead: recorded.lead, leadId: recorded.lead.id, deliveryId: recorded.deliveryIds[0] };
}

/** A "send test webhook" delivery created at `at`. */
export async function testDeliveryAt(endpoint: TestEndpoint, at: Date): Promise<string> {
  return createTestDelivery(getDb(), endpoint, { clock: new ManualClock(at) });
}

/** Attempt records starting at `at`, a minute apart, each with a response excerpt. */
export async function addAttempts(deliveryId: string, at: Date, statusCodes: number[]): Promise<void> {
  const db = getDb();
  const existing = await db.deliveryAttempt.count({ where: { deliveryId } });
  await db.deliveryAttempt.createMany({
    data: statusCodes.map((statusCode, i) => ({
      deliveryId, number: existing + i + 1, startedAt: new Date(at.getTime() + i * 60_000), durationMs: 80,
      address: "203.0.113.7", statusCode, responseExcerpt: `{"answer":${statusCode}}`,
      errorCode: statusCode < 300 ? null : "http_status",
    })),
  });
}

/** The delivery as the worker leaves it after its attempts ended at `at` with `status`. */
export async function finishDelivery(deliveryId: string, status: "delivered" | "failed", at: Date, statusCodes: number[]): Promise<void> {
  await addAttempts(deliveryId, at, statusCodes);
  await getDb().delivery.update({
    where: { id: deliveryId },
    data: {
      status, attemptCount: statusCodes.length, lastStatusCode: statusCodes.at(-1),
      deliveredAt: status === "delivered" ? new Date(at.getTime() + (statusCodes.length - 1) * 60_000) : null,
    },
  });
}
