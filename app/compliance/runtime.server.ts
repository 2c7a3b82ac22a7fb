import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { getLogger } from "../lib/logger.server";
import { getProducers } from "../runtime/producers.server";
import { authenticate } from "../shopify.server";
import { receiveShopifyWebhook, type ReceiveDeps, type WebhookTopic } from "./receive-webhook.server";

/** The webhook handlers wired for real: the app's database, Redis producers, logger and Shopify library. */
export function defaultReceiveDeps(): ReceiveDeps {
  const { deliveryQueue, taggingQueue } = getProducers();
  return {
    db: getDb(),
    queues: { deliveryQueue, taggingQueue },
    logger: getLogger().child({ component: "shopify-webhooks" }),
    authenticate: authenticate.webhook,
    apiSecret: getConfig().SHOPIFY_API_SECRET,
  };
}

export function receiveWebhook(request: Request, topic: WebhookTopic): Promise<Response> {
  return receiveShopifyWebhook(request, topic, defaultReceiveDeps());
}
