import { Form, useNavigation } from "@remix-run/react";
import { Banner, BlockStack, Button, Card, InlineError, Text, TextField } from "@shopify/polaris";
import { useState } from "react";
import { errorOf, type WebhookActionData } from "./action-data";

/** Connect: the receiver's https URL. The secret is made on the server and shown once in the answer. */
export function ConnectCard({ actionData }: { actionData: WebhookActionData | undefined }) {
  const [url, setUrl] = useState("");
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "connect";
  const error = actionData?.intent === "connect" ? errorOf(actionData) : null;
  return (
    <Card>
      <Form method="post">
        <input type="hidden" name="intent" value="connect" />
        <BlockStack gap="300">
          {actionData?.intent === "disconnect" && "cancelled" in actionData ? (
            <Banner tone="success" title="Webhook disconnected">
              Nothing more is sent to it.{" "}
              {actionData.cancelled === 1 ? "1 waiting delivery was cancelled." : `${actionData.cancelled} waiting deliveries were cancelled.`}
            </Banner>
          ) : null}
          <Text as="h2" variant="headingMd">Connect a webhook</Text>
          <Text as="p" tone="subdued">
            Every new lead is sent as a signed HTTPS POST to this URL within seconds, retried for up to a day if your
            receiver is down, and listed below with every attempt.
          </Text>
          <TextField
            label="Endpoint URL"
            name="url"
            value={url}
            onChange={setUrl}
            placeholder="https://crm.example.com/webhooks/tryon"
            autoComplete="off"
            type="url"
            error={Boolean(error)}
            helpText="Must start with https:// and reach a public internet address. No user name or password in the URL."
          />
          {error ? <InlineError message={error} fieldID="endpoint-url" /> : null}
          <div>
            <Button submit variant="primary" loading={submitting}>Connect</Button>
          </div>
        </BlockStack>
      </Form>
    </Card>
  );
}
