import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import { BlockStack, Button, Card, Divider, Layout, Page, Text } from "@shopify/polaris";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminForm, readAdminParam, readAdminQuery } from "../lib/admin-input.server";
import { productKey } from "../delivery/destination-rules";
import { listTriedProducts } from "../leads/leads.server";
import { cancelBackfill, countBackfill, latestBackfill, startBackfill } from "../destinations/backfill.server";
import { startOfDay, readDeliveryLogFilters } from "../destinations/delivery-log-filters";
import { listDeliveries } from "../destinations/delivery-log.server";
import { eventsOf, parseDestinationIntent } from "../destinations/destination-intents";
import { updateDestination } from "../destinations/destination-settings.server";
import { endpointViewSelect, toEndpointView } from "../destinations/endpoints.server";
import { disconnectEndpoint, pauseEndpoint, resumeEndpoint, rotateSigningSecret } from "../destinations/endpoint-lifecycle.server";
import { IntegrationDeliveryNotFoundError, IntegrationEndpointNotFoundError } from "../destinations/errors";
import { healthLine } from "../destinations/health";
import { InvalidIntentError } from "../destinations/intents";
import { parseKlaviyoSettings } from "../destinations/klaviyo/destination";
import { updateKlaviyo } from "../destinations/klaviyo/connect.server";
import { listsOfKlaviyoDestination } from "../destinations/klaviyo/lists.server";
import { RECEIVER_GUIDE } from "../destinations/receiver-guide.server";
import { countFailedDeliveriesSince, replayFailedDeliveriesSince, replayOneDelivery } from "../destinations/replay.server";
import { getWebhookServices, sendersOver } from "../destinations/services.server";
import { sendTestWebhook } from "../destinations/test-send.server";
import { webhookTransportOf } from "../runtime/load-context";
import type { DestinationActionData } from "../destinations/ui/action-data";
import { DeliveryLog } from "../destinations/ui/DeliveryLog";
import { destinationPage } from "../destinations/ui/DestinationsCard";
import {
  BackfillCard, DisconnectCard, FiltersCard, KlaviyoSettingsCard, RenameCard, StatusCard, TestSendCard,
} from "../destinations/ui/DestinationManage";
import { PauseResume, Rotate } from "../destinations/ui/EndpointCard";
import { ReceiverHelp } from "../destinations/ui/ReceiverHelp";
import { SecretReveal } from "../destinations/ui/SecretReveal";
import { destinationHealth24h } from "../destinations/health-24h.server";
import { answerMerchantError } from "../destinations/merchant-error-answer.server";

/**
 * One destination's page (/app/leads/destinations/:id): its state in plain words, test, pause, rotate, rename,
 * filters, the Klaviyo settings, sending earlier leads, the delivery log with replays, and disconnect. The id
 * comes from the URL and is only ever looked up with the shop of the verified session: another shop's id is a 404.
 */

function destinationIdOf(params: Record<string, string | undefined>): string {
  return readAdminParam(params, "id", { maxLength: 64 });
}

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const id = destinationIdOf(params);
  const { db } = getWebhookServices();
  const row = await db.destination.findFirst({
    where: { id, shopId: shop.id },
    select: { ...endpointViewSelect, disconnectedAt: true, state: true },
  });
  if (!row) throw new Response("This destination does not exist for your store.", { status: 404 });
  const now = new Date();
  const destination = toEndpointView(row, now);
  const disconnectedAt = row.state === "disconnected" ? (row.disconnectedAt ?? now).toISOString() : null;
  const query = readAdminQuery(request);
  const { filters, filterError } = readDeliveryLogFilters(query);
  const [log, backfill, tried, last24h] = await Promise.all([
    listDeliveries({ db, shopId: shop.id, destinationId: destination.id, filters, after: query.get("after") }),
    latestBackfill(db, shop.id, destination.id),
    destination.productIds ? listTriedProducts(db, shop.id) : Promise.resolve([]),
    disconnectedAt ? Promise.resolve(null) : destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now }),
  ]);
  const productTitles: Record<string, string> = {};
  for (const p of tried) {
    const key = productKey(p.productId);
    if (key) productTitles[key] = p.title;
  }
  return {
    shopDomain: shop.domain,
    destination,
    disconnectedAt,
    healthLine: disconnectedAt ? null : healthLine(destination, now),
    last24h: last24h ? { line: last24h.line, deliveredShare: last24h.deliveredShare } : null,
    klaviyo: destination.kind === "klaviyo" ? parseKlaviyoSettings(JSON.stringify(destination.settings)) : null,
    log,
    filters,
    filterError,
    backfill,
    productTitles,
    guide: destination.kind === "webhook" ? RECEIVER_GUIDE : null,
  };
};

export const action = async ({ request, params, context }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const id = destinationIdOf(params);
  const form = await readAdminForm(request);
  const services = getWebhookServices();
  const transport = webhookTransportOf(context);
  const exchange = transport.exchange ?? services.exchange;
  const { db } = services;
  let intent;
  try {
    intent = parseDestinationIntent(form, id);
  } catch (error) {
    if (error instanceof InvalidIntentError) return data<DestinationActionData>({ intent: "invalid", error: error.message }, { status: 400 });
    throw error;
  }
  // Who changed what, by id only: never a URL, a key, a secret or an email.
  const audit = (fields: Record<string, unknown>) =>
    services.logger.info({ shopId: shop.id, destinationId: id, intent: intent.intent, ...fields }, "destination settings changed");
  try {
    // Every intent is about this page's destination: it must be one of this shop's (connected or not).
    const owned = await db.destination.findFirst({ where: { id, shopId: shop.id }, select: { id: true, kind: true } });
    if (!owned) throw new IntegrationEndpointNotFoundError();
    switch (intent.intent) {
      case "rename": {
        const view = await updateDestination({ db, shop, destinationId: id, changes: { name: intent.name } });
        audit({});
        return data<DestinationActionData>({ intent: "rename", name: view.name });
      }
      case "filters": {
        const view = await updateDestination({
          db, shop, destinationId: id, changes: { events: eventsOf(intent), productIds: intent.productIds.length ? intent.productIds : null },
        });
        audit({ events: view.events, products: view.productIds?.length ?? 0 });
        return data<DestinationActionData>({ intent: "filters", events: view.events, productIds: view.productIds });
      }
      case "klaviyo_settings": {
        if (owned.kind !== "klaviyo") throw new IntegrationEndpointNotFoundError();
        const result = await updateKlaviyo({
          db, shop, destinationId: id, ring: services.keyRing, exchange,
          metricName: intent.metricName, listId: intent.listId, listName: intent.listName || null,
        });
        if (!result.ok) return data<DestinationActionData>({ intent: "klaviyo_settings", error: result.message, field: result.field }, { status: 422 });
        // Whether erasures reach Klaviyo is the filters' "Erasure requests" choice, saved by that card alone.
        audit({ list: Boolean(intent.listId) });
        return data<DestinationActionData>({ intent: "klaviyo_settings", message: "Saved." });
      }
      case "klaviyo_lists": {
        if (owned.kind !== "klaviyo") throw new IntegrationEndpointNotFoundError();
        const result = await listsOfKlaviyoDestination({ db, shopId: shop.id, destinationId: id, ring: services.keyRing, exchange });
        if (!result.ok) return data<DestinationActionData>({ intent: "klaviyo_lists", error: result.message }, { status: 422 });
        return data<DestinationActionData>({ intent: "klaviyo_lists", lists: result.lists, truncated: result.truncated });
      }
      case "backfill_count": {
        const count = await countBackfill({ db, shop, destinationId: id, since: startOfDay(intent.since) });
        return data<DestinationActionData>({ intent: "backfill_count", since: intent.since, count });
      }
      case "backfill_start": {
        const run = await startBackfill({ db, shop, destinationId: id, since: startOfDay(intent.since) });
        audit({ backfillId: run.id, total: run.total });
        return data<DestinationActionData>({ intent: "backfill_start", total: run.total });
      }
      case "backfill_cancel": {
        const run = await db.backfill.findFirst({ where: { id: intent.backfillId, shopId: shop.id, destinationId: id }, select: { id: true } });
        if (!run) throw new IntegrationEndpointNotFoundError();
        await cancelBackfill({ db, shop, backfillId: run.id });
        audit({ backfillId: run.id });
        return data<DestinationActionData>({ intent: "backfill_cancel" });
      }
      case "rotate": {
        const { endpoint, secret } = await rotateSigningSecret({ db, shop, destinationId: id, ring: services.keyRing, overlapHours: intent.overlapHours });
        audit({ overlapHours: intent.overlapHours });
        return data<DestinationActionData>(
          { intent: "rotate", destinationId: endpoint.id, secret, previousSecretUntil: endpoint.previousSecretUntil },
          { headers: { "Cache-Control": "no-store" } },
        );
      }
      case "disconnect": {
        const { cancelled } = await disconnectEndpoint({ db, shop, destinationId: id });
        audit({ cancelled });
        return data<DestinationActionData>({ intent: "disconnect", cancelled });
      }
      case "pause":
        await pauseEndpoint({ db, shop, destinationId: id });
        audit({});
        return data<DestinationActionData>({ intent: "pause" });
      case "resume": {
        const { woken } = await resumeEndpoint({ db, shop, destinationId: id, queue: services.queue() });
        audit({ woken });
        return data<DestinationActionData>({ intent: "resume", woken });
      }
      case "send_test": {
        const result = await sendTestWebhook(
          {
            ...services,
            send: transport.send ?? services.send,
            senders: transport.exchange ? sendersOver(transport.exchange) : services.senders,
          },
          { shop, destinationId: id },
        );
        return data<DestinationActionData>({ intent: "send_test", result });
      }
      case "replay": {
        const delivery = await db.delivery.findFirst({ where: { id: intent.deliveryId, shopId: shop.id, destinationId: id }, select: { id: true } });
        if (!delivery) throw new IntegrationDeliveryNotFoundError();
        const { deliveryId } = await replayOneDelivery({ db, queue: services.queue(), shopId: shop.id, deliveryId: delivery.id });
        audit({ deliveryId });
        return data<DestinationActionData>({ intent: "replay", deliveryId });
      }
      case "count_failed": {
        const count = await countFailedDeliveriesSince({ db, shopId: shop.id, destinationId: id, since: intent.since });
        return data<DestinationActionData>({ intent: "count_failed", count, since: intent.since });
      }
      case "replay_failed": {
        const replayed = await replayFailedDeliveriesSince({ db, queue: services.queue(), shopId: shop.id, destinationId: id, since: intent.since });
        audit({ since: intent.since, replayed });
        return data<DestinationActionData>({ intent: "replay_failed", replayed, since: intent.since });
      }
    }
  } catch (error) {
    return answerMerchantError(error, intent.intent);
  }
};

export default function DestinationPage() {
  const { destination, disconnectedAt, healthLine, last24h, klaviyo, log, filters, filterError, backfill, productTitles, guide, shopDomain } =
    useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>() as DestinationActionData | undefined;
  const live = !disconnectedAt;
  const signed = destination.kind === "webhook" || destination.kind === "http_request";
  return (
    <Page title={destination.name} backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            {actionData?.intent === "disconnect" && "cancelled" in actionData ? (
              <Text as="p" tone="success">
                Disconnected. {actionData.cancelled === 1 ? "1 waiting delivery was cancelled." : `${actionData.cancelled} waiting deliveries were cancelled.`}
              </Text>
            ) : null}
            <SecretReveal actionData={actionData as Parameters<typeof SecretReveal>[0]["actionData"]} />
            <StatusCard destination={destination} healthLine={healthLine} disconnectedAt={disconnectedAt} last24h={last24h} />
            {live ? (
              <Card>
                <BlockStack gap="400">
                  <TestSendCard destination={destination} />
                  <Divider />
                  <PauseResume endpoint={destination} />
                  {destination.kind === "http_request" ? (
                    <>
                      <Divider />
                      <div>
                        <Button url={`${destinationPage(destination.id)}/request`}>Edit request</Button>
                      </div>
                    </>
                  ) : null}
                  {signed ? (
                    <>
                      <Divider />
                      <Rotate endpoint={destination} actionData={actionData as Parameters<typeof Rotate>[0]["actionData"]} />
                    </>
                  ) : null}
                  <Divider />
                  <RenameCard destination={destination} />
                </BlockStack>
              </Card>
            ) : null}
            {live ? <FiltersCard destination={destination} productTitles={productTitles} /> : null}
            {live && klaviyo ? <KlaviyoSettingsCard settings={klaviyo} /> : null}
            {live ? <BackfillCard destination={destination} backfill={backfill} /> : null}
            <DeliveryLog log={log} filters={filters} filterError={filterError} endpoint={live ? destination : null} allUrl={destinationPage(destination.id)} />
            {live ? <DisconnectCard destination={destination} /> : null}
            {guide && live ? <ReceiverHelp guide={guide} shopDomain={shopDomain} /> : null}
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
