import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useLoaderData, type ShouldRevalidateFunction } from "@remix-run/react";
import { BlockStack, Layout, Page } from "@shopify/polaris";
import { readAdminQuery } from "../lib/admin-input.server";
import { requireAdminShop } from "../shops/admin.server";
import { answerMerchantError } from "../destinations/merchant-error-answer.server";
import { connectHttpRequest } from "../destinations/http-request/destination.server";
import { answerDraftIntent, readEditorIntent } from "../destinations/http-request/editor-actions.server";
import { editorPageHelp } from "../destinations/http-request/editor-help.server";
import { findPreset } from "../destinations/http-request/presets";
import { getWebhookServices } from "../destinations/services.server";
import { FieldReference } from "../destinations/ui/FieldReference";
import { NoCodeGuide } from "../destinations/ui/NoCodeGuide";
import { RequestEditor } from "../destinations/ui/RequestEditor";
import { blankForm, type EditorActionData } from "../destinations/ui/request-editor-state";
import { webhookTransportOf } from "../runtime/load-context";
import { destinationPage } from "../destinations/ui/DestinationsCard";

/**
 * Adding an "HTTP request" destination (any CRM's API, Slack, a no-code tool's catch hook): a preset or a
 * blank request, a live preview on the latest lead, a real test, and Save, which shows the signing secret once.
 */

export const loader = async ({ request }: LoaderFunctionArgs) => {
  await requireAdminShop(request);
  const preset = readAdminQuery(request).get("preset");
  return { preset: preset && findPreset(preset) ? preset : null, help: editorPageHelp() };
};

export const shouldRevalidate: ShouldRevalidateFunction = ({ formData, defaultShouldRevalidate }) => {
  const intent = formData?.get("intent");
  return intent === "preview" || intent === "send_test" || intent === "save" ? false : defaultShouldRevalidate;
};

export const action = async ({ request, context }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const read = await readEditorIntent(request);
  if ("answer" in read) return read.answer;
  const { intent } = read;
  const services = getWebhookServices();
  const transport = webhookTransportOf(context);
  const { db, keyRing: ring } = services;
  try {
    const draft = await answerDraftIntent(intent, { db, shop, ring, exchange: transport.exchange ?? services.exchange });
    if (draft) return draft;
    switch (intent.intent) {
      case "save": {
        const saved = await connectHttpRequest({
          db, shop, ring, definition: intent.definition, secretValues: intent.secretValues, name: intent.name, destination: transport.destination,
        });
        if (!saved.ok) return data<EditorActionData>({ intent: "save", ok: false, problems: saved.problems }, { status: 422 });
        // Who added what, by id only: never a URL, a header value or a secret.
        services.logger.info({ shopId: shop.id, destinationId: saved.destination.id, intent: "connect_http_request" }, "destination settings changed");
        // The only answer that ever carries the signing secret: not cached anywhere on the way back.
        return data<EditorActionData>(
          { intent: "save", ok: true, destinationId: saved.destination.id, secret: saved.secret },
          { headers: { "Cache-Control": "no-store" } },
        );
      }
    }
  } catch (error) {
    return answerMerchantError(error, intent.intent);
  }
};

export default function NewRequestDestinationPage() {
  const { preset, help } = useLoaderData<typeof loader>();
  return (
    <Page title="Send leads with an HTTP request" backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            <RequestEditor mode="new" initial={blankForm("")} storedSecretNames={[]} initialPreset={preset}
              destinationUrl={destinationPage} />
            <FieldReference reference={help.reference} />
            <NoCodeGuide guide={help.noCode} />
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
