import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { useLoaderData, type ShouldRevalidateFunction } from "@remix-run/react";
import { BlockStack, Layout, Page } from "@shopify/polaris";
import { readAdminParam } from "../lib/admin-input.server";
import { requireAdminShop } from "../shops/admin.server";
import { IntegrationEndpointNotFoundError } from "../destinations/errors";
import { updateHttpRequest } from "../destinations/http-request/destination.server";
import { loadHttpRequestForEdit } from "../destinations/http-request/editor.server";
import { answerDraftIntent, readEditorIntent } from "../destinations/http-request/editor-actions.server";
import { editorPageHelp } from "../destinations/http-request/editor-help.server";
import { getWebhookServices } from "../destinations/services.server";
import { FieldReference } from "../destinations/ui/FieldReference";
import { NoCodeGuide } from "../destinations/ui/NoCodeGuide";
import { RequestEditor } from "../destinations/ui/RequestEditor";
import { headerKey, type EditorActionData, type EditorForm } from "../destinations/ui/request-editor-state";
import { webhookTransportOf } from "../runtime/load-context";
import { destinationPage } from "../destinations/ui/DestinationsCard";

/**
 * Changing a saved "HTTP request" destination: the same form, filled in as saved. Secret header values never
 * reach the browser: the form shows that one is stored and keeps it unless the merchant types another.
 */

function notFound(error: unknown): never {
  if (error instanceof IntegrationEndpointNotFoundError) throw new Response(error.message, { status: 404 });
  throw error;
}

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const destinationId = readAdminParam(params, "id", { maxLength: 64 });
  const { db, keyRing: ring } = getWebhookServices();
  const destination = await loadHttpRequestForEdit({ db, shop, ring, destinationId }).catch(notFound);
  return { destination, help: editorPageHelp() };
};

export const shouldRevalidate: ShouldRevalidateFunction = ({ formData, defaultShouldRevalidate }) => {
  const intent = formData?.get("intent");
  return intent === "preview" || intent === "send_test" ? false : defaultShouldRevalidate;
};

export const action = async ({ request, params, context }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const destinationId = readAdminParam(params, "id", { maxLength: 64 });
  const read = await readEditorIntent(request);
  if ("answer" in read) return read.answer;
  const { intent } = read;
  const services = getWebhookServices();
  const transport = webhookTransportOf(context);
  const { db, keyRing: ring } = services;
  try {
    const draft = await answerDraftIntent(intent, { db, shop, ring, destinationId, exchange: transport.exchange ?? services.exchange });
    if (draft) return draft;
    switch (intent.intent) {
      case "save": {
        const saved = await updateHttpRequest({
          db, shop, ring, destinationId, definition: intent.definition, secretValues: intent.secretValues, name: intent.name,
          destination: transport.destination,
        });
        if (!saved.ok) return data<EditorActionData>({ intent: "save", ok: false, problems: saved.problems }, { status: 422 });
        // Who changed what, by id only: never a URL, a header value or a secret.
        services.logger.info({ shopId: shop.id, destinationId, intent: "update_http_request" }, "destination settings changed");
        return redirect(destinationPage(destinationId));
      }
    }
  } catch (error) {
    return notFound(error);
  }
};

export default function EditRequestDestinationPage() {
  const { destination, help } = useLoaderData<typeof loader>();
  const initial: EditorForm = {
    name: destination.name,
    method: destination.definition.method,
    url: destination.definition.url,
    bodyEncoding: destination.definition.bodyEncoding,
    body: destination.definition.body,
    headers: destination.definition.headers.map((h) =>
      h.secret ? { key: headerKey(), name: h.name, secret: true, value: "", stored: h.stored } : { key: headerKey(), name: h.name, secret: false, value: h.value, stored: false }),
  };
  const storedSecretNames = destination.definition.headers.filter((h) => h.secret && h.stored).map((h) => h.name);
  return (
    <Page title={`Edit ${destination.name}`} subtitle="HTTP request" backAction={{ content: destination.name, url: destinationPage(destination.id) }}>
      <Layout>
        <Layout.Section>
          <BlockStack gap="400">
            <RequestEditor key={destination.id} mode="edit" initial={initial} storedSecretNames={storedSecretNames} destinationUrl={destinationPage} />
            <FieldReference reference={help.reference} />
            <NoCodeGuide guide={help.noCode} />
          </BlockStack>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
