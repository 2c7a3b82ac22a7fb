import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useFetcher, useLoaderData, useNavigation } from "@remix-run/react";
import {
  Banner, BlockStack, Button, Card, Checkbox, ChoiceList, InlineStack, Layout, Page, Select, Text, TextField,
} from "@shopify/polaris";
import { useState } from "react";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminForm } from "../lib/admin-input.server";
import { MAX_DESTINATIONS_PER_SHOP, type DestinationEvent } from "../delivery/destination-rules";
import { parseNewDestinationIntent } from "../destinations/destination-intents";
import { connectEndpoint, listLiveDestinations } from "../destinations/endpoints.server";
import { InvalidIntentError } from "../destinations/intents";
import { connectKlaviyo } from "../destinations/klaviyo/connect.server";
import { KlaviyoKeyFormatError } from "../destinations/klaviyo/klaviyo-api";
import { fetchKlaviyoLists } from "../destinations/klaviyo/lists";
import { DEFAULT_METRIC_NAME } from "../destinations/klaviyo/requests";
import { getWebhookServices } from "../destinations/services.server";
import { webhookTransportOf } from "../runtime/load-context";
import { errorOf, type NewDestinationActionData } from "../destinations/ui/action-data";
import { destinationPage } from "../destinations/ui/DestinationsCard";
import { SecretReveal } from "../destinations/ui/SecretReveal";
import { answerMerchantError } from "../destinations/merchant-error-answer.server";

/**
 * Add destination (/app/leads/destinations/new): the merchant picks what to send leads to, in plain words, and
 * connects it. A signed webhook's secret is shown once, in the connect answer; a Klaviyo key is checked against
 * the account before anything is saved, and is never sent back to the page.
 */

export const NEW_REQUEST_PAGE = "/app/leads/destinations/new/request";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const { db } = getWebhookServices();
  const live = await listLiveDestinations(db, shop.id);
  return { connected: live.length, limit: MAX_DESTINATIONS_PER_SHOP };
};

export const action = async ({ request, context }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const form = await readAdminForm(request);
  const services = getWebhookServices();
  const transport = webhookTransportOf(context);
  const exchange = transport.exchange ?? services.exchange;
  const { db } = services;
  let intent;
  try {
    intent = parseNewDestinationIntent(form);
  } catch (error) {
    if (error instanceof InvalidIntentError) return data<NewDestinationActionData>({ intent: "invalid", error: error.message }, { status: 400 });
    throw error;
  }
  const noStore = { "Cache-Control": "no-store" };
  try {
    switch (intent.intent) {
      case "connect_webhook": {
        const { endpoint, secret } = await connectEndpoint({
          db, shop, url: intent.url, name: intent.name, ring: services.keyRing, destination: transport.destination,
        });
        services.logger.info({ shopId: shop.id, destinationId: endpoint.id, kind: "webhook" }, "destination connected");
        // The only answer that ever carries the secret: not cached anywhere on the way back.
        return data<NewDestinationActionData>(
          { intent: "connect_webhook", destinationId: endpoint.id, name: endpoint.name, secret },
          { headers: noStore },
        );
      }
      case "klaviyo_lists": {
        const result = await fetchKlaviyoLists({ apiKey: intent.apiKey, exchange });
        if (!result.ok) return data<NewDestinationActionData>({ intent: "klaviyo_lists", error: result.message, field: "apiKey" }, { status: 422, headers: noStore });
        return data<NewDestinationActionData>({ intent: "klaviyo_lists", lists: result.lists, truncated: result.truncated }, { headers: noStore });
      }
      case "connect_klaviyo": {
        const events: DestinationEvent[] = intent.deleteOnRedaction ? ["lead_captured", "lead_redacted"] : ["lead_captured"];
        const result = await connectKlaviyo({
          db, shop, apiKey: intent.apiKey, ring: services.keyRing, exchange, name: intent.name, metricName: intent.metricName,
          listId: intent.listId || null, listName: intent.listName || null, events,
        });
        if (!result.ok) {
          return data<NewDestinationActionData>({ intent: "connect_klaviyo", error: result.message, field: result.field }, { status: 422, headers: noStore });
        }
        services.logger.info({ shopId: shop.id, destinationId: result.destination.id, kind: "klaviyo" }, "destination connected");
        return data<NewDestinationActionData>(
          {
            intent: "connect_klaviyo", destinationId: result.destination.id, name: result.destination.name, message: result.message,
            unconfirmedScopes: result.unconfirmedScopes,
          },
          { headers: noStore },
        );
      }
    }
  } catch (error) {
    if (error instanceof KlaviyoKeyFormatError) {
      return data<NewDestinationActionData>({ intent: intent.intent, error: NOT_A_KEY, field: "apiKey" }, { status: 422, headers: noStore });
    }
    return answerMerchantError(error, intent.intent);
  }
};

const NOT_A_KEY = "That is not a Klaviyo private API key. Private keys start with pk_; create one in Klaviyo under Settings → Account → API keys.";

type Kind = "webhook" | "klaviyo" | "http_request";

export default function NewDestinationPage() {
  const { connected, limit } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>() as NewDestinationActionData | undefined;
  const [kind, setKind] = useState<Kind>("webhook");
  const done = actionData && "destinationId" in actionData ? actionData : null;
  return (
    <Page title="Add destination" backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            {done ? (
              <Connected actionData={done} />
            ) : connected >= limit ? (
              <Banner tone="warning" title="You have connected the most destinations a store can have">
                You can connect up to {limit}. Disconnect one you no longer use to add another.
              </Banner>
            ) : (
              <>
                <Card>
                  <ChoiceList
                    title="Where should new leads go?"
                    selected={[kind]}
                    onChange={(selected) => setKind((selected[0] as Kind | undefined) ?? "webhook")}
                    choices={[
                      {
                        label: "Signed webhook (Zapier, Make, n8n or your developer's server)",
                        value: "webhook",
                        helpText: "Each lead is sent as a signed HTTPS POST to an address you paste, such as a Zapier or Make webhook URL.",
                      },
                      {
                        label: "Klaviyo",
                        value: "klaviyo",
                        helpText: "Each lead becomes an event on the shopper's Klaviyo profile, and can join a list if they agreed to marketing.",
                      },
                      {
                        label: "HTTP request (HubSpot, Mailchimp, Brevo, any CRM API)",
                        value: "http_request",
                        helpText: "Each lead is sent to a CRM's own API, with a ready-made template for popular tools.",
                      },
                    ]}
                  />
                </Card>
                {kind === "webhook" ? <WebhookForm actionData={actionData} /> : null}
                {kind === "klaviyo" ? <KlaviyoForm actionData={actionData} /> : null}
                {kind === "http_request" ? (
                  <Card>
                    <BlockStack gap="300">
                      <Text as="h2" variant="headingMd">HTTP request</Text>
                      <Text as="p">Pick your CRM's template (or start from scratch), paste its API key, and check the request with a test lead before saving.</Text>
                      <div>
                        <Button variant="primary" url={NEW_REQUEST_PAGE}>Set up the request</Button>
                      </div>
                    </BlockStack>
                  </Card>
                ) : null}
              </>
            )}
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}

function Connected({ actionData }: { actionData: Extract<NewDestinationActionData, { destinationId: string }> }) {
  return (
    <BlockStack gap="400">
      <SecretReveal actionData={actionData} />
      <Card>
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">{`${actionData.name} is connected`}</Text>
          {actionData.intent === "connect_klaviyo" && "message" in actionData ? <Text as="p">{actionData.message}</Text> : null}
          <Text as="p">
            New leads go to it from now on. Open its page to send a test, choose which leads it gets, or send it your earlier leads.
          </Text>
          <div>
            <Button variant="primary" url={destinationPage(actionData.destinationId)}>Open destination</Button>
          </div>
        </BlockStack>
      </Card>
    </BlockStack>
  );
}

function WebhookForm({ actionData }: { actionData: NewDestinationActionData | undefined }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "connect_webhook";
  const error = actionData?.intent === "connect_webhook" ? errorOf(actionData) : null;
  return (
    <Card>
      <Form method="post">
        <input type="hidden" name="intent" value="connect_webhook" />
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">Signed webhook</Text>
          <TextField label="Name" name="name" value={name} onChange={setName} autoComplete="off" maxLength={60} placeholder="Zapier"
            helpText="What you call it in the Leads tab." />
          <TextField
            label="Webhook URL"
            name="url"
            value={url}
            onChange={setUrl}
            type="url"
            autoComplete="off"
            placeholder="https://hooks.zapier.com/hooks/catch/…"
            error={error ?? undefined}
            helpText="Copy it from your Zap, scenario or workflow (the “Webhook” trigger). Must start with https://."
          />
          <Text as="p" tone="subdued">
            After connecting you get a signing secret, shown once: your developer uses it to check that leads come from this app.
            Zapier and Make can ignore it.
          </Text>
          <div>
            <Button submit variant="primary" loading={submitting}>Connect webhook</Button>
          </div>
        </BlockStack>
      </Form>
    </Card>
  );
}

function KlaviyoForm({ actionData }: { actionData: NewDestinationActionData | undefined }) {
  const [name, setName] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [metricName, setMetricName] = useState(DEFAULT_METRIC_NAME);
  const [listId, setListId] = useState("");
  const [deletion, setDeletion] = useState(false);
  const lists = useFetcher<NewDestinationActionData>({ key: "new-klaviyo-lists" });
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "connect_klaviyo";
  const loaded = lists.data?.intent === "klaviyo_lists" && "lists" in lists.data ? lists.data : null;
  const keyError = (actionData?.intent === "connect_klaviyo" ? errorOf(actionData) : null) ?? (lists.state === "idle" ? errorOf(lists.data) : null);
  const options = [{ label: "No list (events only)", value: "" }, ...(loaded?.lists ?? []).map((l) => ({ label: l.name, value: l.id }))];
  const chosen = loaded?.lists.find((l) => l.id === listId);
  return (
    <Card>
      <Form method="post" autoComplete="off">
        <input type="hidden" name="intent" value="connect_klaviyo" />
        <input type="hidden" name="listName" value={chosen?.name ?? ""} />
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">Klaviyo</Text>
          <TextField label="Name" name="name" value={name} onChange={setName} autoComplete="off" maxLength={60} placeholder="Klaviyo" />
          <TextField
            label="Klaviyo private API key"
            name="apiKey"
            value={apiKey}
            onChange={setApiKey}
            type="password"
            autoComplete="off"
            error={keyError ?? undefined}
            helpText="In Klaviyo: Settings → Account → API keys → Create Private API Key, with access to Accounts (read), Events (write), and Lists, Profiles and Subscriptions (write) to subscribe shoppers. It starts with pk_."
          />
          <InlineStack gap="200" blockAlign="end">
            <Select label="Subscribe shoppers who agreed to marketing to a list" name="listId" options={options} value={listId} onChange={setListId}
              disabled={!loaded} />
            <Button disabled={!apiKey.trim()} loading={lists.state !== "idle"}
              onClick={() => lists.submit({ intent: "klaviyo_lists", apiKey }, { method: "post" })}>
              {loaded ? "Reload lists" : "Load lists from Klaviyo"}
            </Button>
          </InlineStack>
          {loaded ? (
            <Text as="p" tone="subdued">
              {loaded.lists.length === 0 ? "This Klaviyo account has no lists yet; leads are sent as events only." : `${loaded.lists.length} lists found${loaded.truncated ? " (the newest are shown)" : ""}.`}
            </Text>
          ) : null}
          <TextField label="Event name in Klaviyo" name="metricName" value={metricName} onChange={setMetricName} autoComplete="off"
            helpText="Each lead is recorded as this event on the shopper's profile; start flows from it." />
          <input type="hidden" name="deleteOnRedaction" value={deletion ? "on" : ""} />
          <Checkbox
            label="Delete the shopper's profile in Klaviyo when they ask your store to erase their data"
            checked={deletion}
            onChange={setDeletion}
          />
          <div>
            <Button submit variant="primary" loading={submitting} disabled={!apiKey.trim()}>Check key and connect Klaviyo</Button>
          </div>
        </BlockStack>
      </Form>
    </Card>
  );
}
