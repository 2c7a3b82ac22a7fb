import { Form, useFetcher, useNavigation } from "@remix-run/react";
import { Badge, Banner, BlockStack, Button, Card, Divider, InlineStack, Select, Text } from "@shopify/polaris";
import { useState } from "react";
import type { EndpointView } from "../endpoints.server";
import { FAILING_AFTER_CONSECUTIVE_FAILURES } from "../health";
import { OVERLAP_CHOICES } from "../rotation-policy";
import { errorOf, type WebhookActionData } from "./action-data";
import { formatUtc, HEALTH_BADGE } from "./format";
import { TestSendResultBanner } from "./TestSendResult";

/** The connected endpoint: its health, and every action on it. */
export function EndpointCard({ endpoint, actionData }: { endpoint: EndpointView; actionData: WebhookActionData | undefined }) {
  const badge = HEALTH_BADGE[endpoint.health];
  return (
    <Card>
      <BlockStack gap="400">
        <InlineStack align="space-between" blockAlign="center">
          <Text as="h2" variant="headingMd">Endpoint</Text>
          <Badge tone={badge.tone}>{badge.label}</Badge>
        </InlineStack>
        <Text as="p" breakWord>
          <span data-testid="endpoint-url" style={{ fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" }}>{endpoint.url}</span>
        </Text>
        <HealthDetails endpoint={endpoint} />
        <Divider />
        <TestSend destinationId={endpoint.id} disabled={endpoint.state === "paused"} />
        <Divider />
        <PauseResume endpoint={endpoint} />
        <Divider />
        <Rotate endpoint={endpoint} actionData={actionData} />
        <Divider />
        <Disconnect destinationId={endpoint.id} />
      </BlockStack>
    </Card>
  );
}

function HealthDetails({ endpoint }: { endpoint: EndpointView }) {
  return (
    <BlockStack gap="200">
      {endpoint.health === "failing" ? (
        <Banner tone="critical" title="Deliveries are failing">
          The last {endpoint.consecutiveFailures} attempts failed (the endpoint is shown as failing after {FAILING_AFTER_CONSECUTIVE_FAILURES}).
          Leads keep being retried; check the errors in the delivery log, fix your receiver, then send a test.
        </Banner>
      ) : null}
      {endpoint.health === "paused" ? (
        <Banner tone="warning" title="Deliveries are paused">{endpoint.pausedReason ?? "Nothing is sent until you resume."}</Banner>
      ) : null}
      <Text as="p" tone="subdued">
        Connected {formatUtc(endpoint.createdAt)}
        {" · "}Last success: {endpoint.lastSuccessAt ? formatUtc(endpoint.lastSuccessAt) : "none yet"}
        {" · "}Last failure: {endpoint.lastFailureAt ? formatUtc(endpoint.lastFailureAt) : "none"}
        {" · "}Failures in a row: {endpoint.consecutiveFailures}
      </Text>
      {endpoint.previousSecretUntil ? (
        <Text as="p" tone="subdued">
          Rotation overlap: webhooks are signed with both the new and the previous secret until {formatUtc(endpoint.previousSecretUntil)}.
        </Text>
      ) : null}
    </BlockStack>
  );
}

function TestSend({ destinationId, disabled }: { destinationId: string; disabled: boolean }) {
  const fetcher = useFetcher<WebhookActionData>({ key: "webhook-send-test" });
  const result = fetcher.data?.intent === "send_test" && "result" in fetcher.data ? fetcher.data.result : null;
  const error = errorOf(fetcher.data);
  return (
    <BlockStack gap="200">
      <InlineStack gap="300" blockAlign="center">
        <Button
          onClick={() => fetcher.submit({ intent: "send_test", destinationId }, { method: "post" })}
          loading={fetcher.state !== "idle"}
          disabled={disabled}
        >
          Send test webhook
        </Button>
        <Text as="span" tone="subdued">Sends a test event with a made-up shopper (event: test), signed like a real lead.</Text>
      </InlineStack>
      {fetcher.state === "idle" && result ? <TestSendResultBanner result={result} /> : null}
      {fetcher.state === "idle" && error ? <Banner tone="critical">{error}</Banner> : null}
    </BlockStack>
  );
}

export function PauseResume({ endpoint }: { endpoint: EndpointView }) {
  const fetcher = useFetcher<WebhookActionData>({ key: "webhook-pause" });
  const paused = endpoint.state === "paused";
  const error = errorOf(fetcher.data);
  const woken = fetcher.data?.intent === "resume" && "woken" in fetcher.data ? fetcher.data.woken : null;
  return (
    <BlockStack gap="200">
      <InlineStack gap="300" blockAlign="center">
        <Button
          onClick={() => fetcher.submit({ intent: paused ? "resume" : "pause", destinationId: endpoint.id }, { method: "post" })}
          loading={fetcher.state !== "idle"}
        >
          {paused ? "Resume deliveries" : "Pause deliveries"}
        </Button>
        <Text as="span" tone="subdued">
          {paused
            ? "Leads that arrived meanwhile are sent when you resume; failed ones can be replayed from the log."
            : "While paused, leads are kept and queued, and nothing is sent."}
        </Text>
      </InlineStack>
      {fetcher.state === "idle" && woken !== null && !paused ? (
        <Text as="p" tone="success">Resumed. {woken === 1 ? "1 waiting delivery is" : `${woken} waiting deliveries are`} on the way.</Text>
      ) : null}
      {fetcher.state === "idle" && error ? <Banner tone="critical">{error}</Banner> : null}
    </BlockStack>
  );
}

export function Rotate({ endpoint, actionData }: { endpoint: EndpointView; actionData: WebhookActionData | undefined }) {
  const [overlap, setOverlap] = useState("0");
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "rotate";
  const error = actionData?.intent === "rotate" ? errorOf(actionData) : null;
  return (
    <Form method="post" onSubmit={() => setConfirming(false)}>
      <input type="hidden" name="intent" value="rotate" />
      <input type="hidden" name="destinationId" value={endpoint.id} />
      <BlockStack gap="200">
        <InlineStack gap="300" blockAlign="end">
          <Select
            label="After rotating"
            name="overlapHours"
            value={overlap}
            onChange={setOverlap}
            options={OVERLAP_CHOICES.map((c) => ({ label: c.label, value: String(c.hours) }))}
          />
          {confirming ? null : <Button onClick={() => setConfirming(true)}>Rotate signing secret</Button>}
        </InlineStack>
        {confirming ? (
          <Banner tone="warning" title="Rotate the signing secret?">
            <BlockStack gap="200">
              <Text as="p">
                {overlap === "0"
                  ? "The current secret stops signing at once: your receiver rejects webhooks until you give it the new secret."
                  : "Webhooks carry signatures with both secrets during the overlap; give your receiver the new secret before it ends."}
              </Text>
              <InlineStack gap="200">
                <Button submit variant="primary" loading={submitting}>Rotate now</Button>
                <Button onClick={() => setConfirming(false)}>Cancel</Button>
              </InlineStack>
            </BlockStack>
          </Banner>
        ) : null}
        {error ? <Banner tone="critical">{error}</Banner> : null}
      </BlockStack>
    </Form>
  );
}

function Disconnect({ destinationId }: { destinationId: string }) {
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "disconnect";
  return (
    <Form method="post">
      <input type="hidden" name="intent" value="disconnect" />
      <input type="hidden" name="destinationId" value={destinationId} />
      {confirming ? (
        <Banner tone="critical" title="Disconnect this webhook?">
          <BlockStack gap="200">
            <Text as="p">
              Nothing more is sent to this endpoint from the moment you confirm. Deliveries still waiting are cancelled
              (they stay in the log as cancelled). New leads are kept in the Leads tab and the CSV export.
            </Text>
            <InlineStack gap="200">
              <Button submit variant="primary" tone="critical" loading={submitting}>Disconnect now</Button>
              <Button onClick={() => setConfirming(false)}>Cancel</Button>
            </InlineStack>
          </BlockStack>
        </Banner>
      ) : (
        <Button tone="critical" onClick={() => setConfirming(true)}>Disconnect</Button>
      )}
    </Form>
  );
}
