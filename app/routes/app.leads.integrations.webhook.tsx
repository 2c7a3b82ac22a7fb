import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import { BlockStack, Layout, Page } from "@shopify/polaris";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminForm, readAdminQuery } from "../lib/admin-input.server";
import { readDeliveryLogFilters } from "../destinations/delivery-log-filters";
import { listDeliveries } from "../destinations/delivery-log.server";
import { connectEndpoint, listLiveDestinations } from "../destinations/endpoints.server";
import { disconnectEndpoint, pauseEndpoint, resumeEndpoint, rotateSigningSecret } from "../destinations/endpoint-lifecycle.server";
import { InvalidIntentError, parseWebhookIntent } from "../destinations/intents";
import { RECEIVER_GUIDE } from "../destinations/receiver-guide.server";
import { countFailedDeliveriesSince, replayFailedDeliveriesSince, replayOneDelivery } from "../destinations/replay.server";
import { getWebhookServices } from "../destinations/services.server";
import { webhookTransportOf } from "../runtime/load-context";
import { sendTestWebhook } from "../destinations/test-send.server";
import type { WebhookActionData } from "../destinations/ui/action-data";
import { ConnectCard } from "../destinations/ui/ConnectCard";
import { DeliveryLog } from "../destinations/ui/DeliveryLog";
import { EndpointCard } from "../destinations/ui/EndpointCard";
import { ReceiverHelp } from "../destinations/ui/ReceiverHelp";
import { SecretReveal } from "../destinations/ui/SecretReveal";
import { answerMerchantError } from "../destinations/merchant-error-answer.server";

/**
 * The single-webhook page of earlier versions, kept at its address: connect, test, rotate, pause, disconnect and
 * the delivery log of the shop's first signed webhook. The Leads tab now links to each destination's own page.
 */

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const { db } = getWebhookServices();
  const query = readAdminQuery(request);
  const { filters, filterError } = readDeliveryLogFilters(query);
  // This page manages one signed webhook: the shop's first. Other destinations have their own pages.
  const endpoint = (await listLiveDestinations(db, shop.id)).find((d) => d.kind === "webhook") ?? null;
  // One endpoint's log while one is connected; a lead's deliveries, or the shop's history, otherwise.
  const log = await listDeliveries({
    db,
    shopId: shop.id,
    destinationId: endpoint && !filters.lead ? endpoint.id : undefined,
    filters,
    after: query.get("after"),
  });
  return { shopDomain: shop.domain, endpoint, log, filters, filterError, guide: RECEIVER_GUIDE };
};

export const action = async ({ request, context }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const form = await readAdminForm(request);
  const services = getWebhookServices();
  const transport = webhookTransportOf(context);
  const { db } = services;
  let intent;
  try {
    intent = parseWebhookIntent(form);
  } catch (error) {
    if (error instanceof InvalidIntentError) return data<WebhookActionData>({ intent: "invalid", error: error.message }, { status: 400 });
    throw error;
  }
  // Who changed what, by id only: never a URL (it may carry a token), a secret or an email.
  const audit = (fields: Record<string, unknown>) => services.logger.info({ shopId: shop.id, intent: intent.intent, ...fields }, "webhook settings changed");
  try {
    switch (intent.intent) {
      case "connect": {
        const { endpoint, secret } = await connectEndpoint({ db, shop, url: intent.url, ring: services.keyRing, destination: transport.destination });
        audit({ destinationId: endpoint.id });
        // The only answer that ever carries the secret: not cached anywhere on the way back.
        return data<WebhookActionData>({ intent: "connect", destinationId: endpoint.id, secret }, { headers: { "Cache-Control": "no-store" } });
      }
      case "rotate": {
        const { endpoint, secret } = await rotateSigningSecret({
          db, shop, destinationId: intent.destinationId, ring: services.keyRing, overlapHours: intent.overlapHours,
        });
        audit({ destinationId: endpoint.id, overlapHours: intent.overlapHours });
        return data<WebhookActionData>(
          { intent: "rotate", destinationId: endpoint.id, secret, previousSecretUntil: endpoint.previousSecretUntil },
          { headers: { "Cache-Control": "no-store" } },
        );
      }
      case "disconnect": {
        const { cancelled } = await disconnectEndpoint({ db, shop, destinationId: intent.destinationId });
        audit({ destinationId: intent.destinationId, cancelled });
        return data<WebhookActionData>({ intent: "disconnect", cancelled });
      }
      case "pause":
        await pauseEndpoint({ db, shop, destinationId: intent.destinationId });
        audit({ destinationId: intent.destinationId });
        return data<WebhookActionData>({ intent: "pause" });
      case "resume": {
        const { woken } = await resumeEndpoint({ db, shop, destinationId: intent.destinationId, queue: services.queue() });
        audit({ destinationId: intent.destinationId, woken });
        return data<WebhookActionData>({ intent: "resume", woken });
      }
      case "send_test": {
        const result = await sendTestWebhook({ ...services, send: transport.send ?? services.send }, { shop, destinationId: intent.destinationId });
        return data<WebhookActionData>({ intent: "send_test", result });
      }
      case "replay": {
        const { deliveryId } = await replayOneDelivery({ db, queue: services.queue(), shopId: shop.id, deliveryId: intent.deliveryId });
        audit({ deliveryId });
        return data<WebhookActionData>({ intent: "replay", deliveryId });
      }
      case "count_failed": {
        const count = await countFailedDeliveriesSince({ db, shopId: shop.id, destinationId: intent.destinationId, since: intent.since });
        return data<WebhookActionData>({ intent: "count_failed", count, since: intent.since });
      }
      case "replay_failed": {
        const replayed = await replayFailedDeliveriesSince({
          db, queue: services.queue(), shopId: shop.id, destinationId: intent.destinationId, since: intent.since,
        });
        audit({ destinationId: intent.destinationId, since: intent.since, replayed });
        return data<WebhookActionData>({ intent: "replay_failed", replayed, since: intent.since });
      }
    }
  } catch (error) {
    return answerMerchantError(error, intent.intent);
  }
};

export default function WebhookPage() {
  const { endpoint, log, filters, filterError, guide, shopDomain } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>() as WebhookActionData | undefined;
  if (filters.lead) {
    // Opened from a lead's row in the Leads tab: that lead's deliveries to every destination, nothing else.
    return (
      <Page title="Deliveries of a lead" backAction={{ content: "Leads", url: "/app/leads" }}>
        <DeliveryLog log={log} filters={filters} filterError={filterError} endpoint={null} />
      </Page>
    );
  }
  return (
    <Page title="Webhook" backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            <SecretReveal actionData={actionData} />
            {endpoint ? <EndpointCard endpoint={endpoint} actionData={actionData} /> : <ConnectCard actionData={actionData} />}
            <DeliveryLog log={log} filters={filters} filterError={filterError} endpoint={endpoint} />
            <ReceiverHelp guide={guide} shopDomain={shopDomain} />
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
