import type { LeadCapturedBody, TestBody } from "../../delivery/payload";
import type { AttemptResult } from "../../delivery/types";
import { classifyKlaviyoResult } from "./classify";
import type { KlaviyoExchange } from "./klaviyo-api";
import { buildCreateEventRequest, buildProfileDeletionRequest, buildSubscribeProfileRequest } from "./requests";

/**
 * One delivery attempt to a Klaviyo destination, as the worker runs it: the requests in order, each
 * answer classified, one AttemptResult for the whole. A failure part-way is the attempt's failure; the
 * retry sends everything again, which Klaviyo takes as the same event (the delivery id is its unique_id)
 * and the same subscription.
 */

export interface KlaviyoLeadDelivery {
  apiKey: string;
  exchange: KlaviyoExchange;
  lead: LeadCapturedBody | TestBody;
  /** Stable across attempts and replays: Klaviyo keeps one event per delivery. */
  deliveryId: string;
  /** The merchant's event name; default "Try-On Lead". */
  metricName?: string;
  /** The list consenting shoppers join; none for events only. Test sends never subscribe. */
  listId?: string | null;
  /**
   * A lead sent long after its capture (a backfill): the event starts no flows, and the subscription is
   * recorded as historical, at the consent's original time, without a double opt-in email.
   */
  backfill?: boolean;
  now?: () => Date;
}

export async function sendLeadToKlaviyo(delivery: KlaviyoLeadDelivery): Promise<AttemptResult> {
  const now = delivery.now ?? (() => new Date());
  const { apiKey, lead } = delivery;
  const eventRequest = buildCreateEventRequest({
    apiKey, lead, deliveryId: delivery.deliveryId, metricName: delivery.metricName, backfill: delivery.backfill,
  });
  const event = classifyKlaviyoResult(await delivery.exchange(eventRequest), { operation: "create_event", apiKey, email: lead.email, now: now() });
  if (!event.ok || !delivery.listId || lead.event !== "lead_captured") return event;

  const subscribeRequest = buildSubscribeProfileRequest({ apiKey, lead, listId: delivery.listId, historicalImport: delivery.backfill });
  if (!subscribeRequest) return event;
  const subscribed = classifyKlaviyoResult(await delivery.exchange(subscribeRequest), { operation: "bulk_subscribe_profiles", apiKey, email: lead.email, now: now() });
  const durationMs = event.durationMs + subscribed.durationMs;
  if (subscribed.ok) return { ...subscribed, durationMs };
  return { ...subscribed, durationMs, message: `The event reached Klaviyo, but subscribing the shopper to the list did not. ${subscribed.message}` };
}

/**
 * A shopper's data was erased here: ask Klaviyo to delete their profile too (Request Profile Deletion by
 * email). Klaviyo accepts the job and deletes asynchronously.
 */
export async function requestKlaviyoProfileDeletion(params: {
  apiKey: string;
  exchange: KlaviyoExchange;
  email: string;
  now?: () => Date;
}): Promise<AttemptResult> {
  const now = params.now ?? (() => new Date());
  const answer = await params.exchange(buildProfileDeletionRequest({ apiKey: params.apiKey, email: params.email }));
  return classifyKlaviyoResult(answer, { operation: "request_profile_deletion", apiKey: params.apiKey, email: params.email, now: now() });
}
