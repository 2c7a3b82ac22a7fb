import { recordDataRequest } from "./data-requests.server";
import type { ComplianceDeps } from "./deps";
import { DuplicateWebhookError, InvalidWebhookPayloadError, WebhookRejectedError } from "./errors";
import { redactCustomer } from "./redact-customer.server";
import { redactShop } from "./redact-shop.server";
import { recordUninstall } from "./uninstall.server";
import { normalizeTopic, verifyShopifyWebhook, type AuthenticateWebhook, type VerifiedWebhook } from "./verify-webhook.server";

/**
 * One Shopify webhook request in, one status out: 401 for a wrong HMAC, 400 for missing headers, a body
 * that is not JSON or lacks what the topic needs, or a topic sent to another topic's address, 405 for a
 * method other than POST, 413 for an oversized body; 200 once handled, and 200 again, changing nothing,
 * for a redelivery. Only a failure on our side (database down) answers 500, so that Shopify retries.
 */

export const WEBHOOK_TOPICS = ["customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"] as const;
export type WebhookTopic = (typeof WEBHOOK_TOPICS)[number];

const HANDLERS: Record<WebhookTopic, (deps: ComplianceDeps, webhook: VerifiedWebhook) => Promise<unknown>> = {
  "customers/data_request": recordDataRequest,
  "customers/redact": redactCustomer,
  "shop/redact": redactShop,
  "app/uninstalled": recordUninstall,
};

export interface ReceiveDeps extends ComplianceDeps {
  authenticate: AuthenticateWebhook;
  apiSecret: string;
}

export async function receiveShopifyWebhook(request: Request, topic: WebhookTopic, deps: ReceiveDeps): Promise<Response> {
  let webhook: VerifiedWebhook;
  try {
    webhook = await verifyShopifyWebhook(request, {
      authenticate: deps.authenticate,
      apiSecret: deps.apiSecret,
      onDirectVerification: (reason) => deps.logger.warn({ topic, reason }, "webhook verified without the offline session"),
    });
  } catch (error) {
    if (!(error instanceof WebhookRejectedError)) throw error;
    deps.logger.info({ topic, status: error.status, reason: error.message }, "webhook refused");
    return answer(error.status);
  }
  if (normalizeTopic(webhook.topic) !== normalizeTopic(topic)) {
    deps.logger.warn({ topic, sent: webhook.topic, webhookId: webhook.webhookId }, "webhook sent to another topic's address");
    return answer(400);
  }
  try {
    await HANDLERS[topic](deps, webhook);
    return answer(200);
  } catch (error) {
    if (error instanceof DuplicateWebhookError) {
      deps.logger.info({ topic, shop: webhook.shop, webhookId: webhook.webhookId }, "webhook already handled");
      return answer(200);
    }
    if (error instanceof InvalidWebhookPayloadError) {
      deps.logger.warn({ topic, shop: webhook.shop, webhookId: webhook.webhookId, reason: error.message }, "webhook body refused");
      return answer(400);
    }
    deps.logger.error({ topic, shop: webhook.shop, webhookId: webhook.webhookId, err: error }, "webhook failed; Shopify will retry");
    return answer(500);
  }
}

function answer(status: number): Response {
  return new Response(null, { status, headers: { "Cache-Control": "no-store" } });
}
