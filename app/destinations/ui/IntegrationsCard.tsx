import { Badge, Banner, BlockStack, Button, Card, DataTable, Text } from "@shopify/polaris";
import type { ReactNode } from "react";
import type { IntegrationsSummary } from "../summary.server";
import { HEALTH_BADGE } from "./format";

export const WEBHOOK_PAGE = "/app/leads/integrations/webhook";

/** The Integrations table of the Leads tab: the webhook (connect or manage) and the CSV export. */
export function IntegrationsCard({ summary, exportAction }: { summary: IntegrationsSummary; exportAction: ReactNode }) {
  const { webhook } = summary;
  const badge = HEALTH_BADGE[webhook.health];
  const connected = webhook.health !== "not_connected";
  return (
    <Card>
      <BlockStack gap="200">
        <Text as="h2" variant="headingMd">Integrations</Text>
        <DataTable
          columnContentTypes={["text", "text", "text", "text"]}
          headings={["Integration", "Status", "Details", ""]}
          rows={[
            [
              "Webhook",
              <Badge key="status" tone={badge.tone}>{badge.label}</Badge>,
              connected ? `Sends every new lead to ${webhook.host}` : "Send every new lead to your CRM or backend as a signed HTTPS request",
              <Button key="action" url={WEBHOOK_PAGE} variant={connected ? undefined : "primary"}>{connected ? "Manage" : "Connect"}</Button>,
            ],
            [
              "CSV export",
              <Badge key="status" tone="success">Available</Badge>,
              "Download the leads shown (with the filters applied) as a spreadsheet",
              <span key="action">{exportAction}</span>,
            ],
          ]}
        />
      </BlockStack>
    </Card>
  );
}

/** Shown above the leads when the webhook needs the merchant: failing or paused. */
export function WebhookHealthBanner({ summary }: { summary: IntegrationsSummary }) {
  const { webhook } = summary;
  if (webhook.health === "failing") {
    return (
      <Banner tone="critical" title="Your webhook is failing" action={{ content: "Manage webhook", url: WEBHOOK_PAGE }}>
        The last {webhook.consecutiveFailures} attempts to reach {webhook.host} failed. Leads are kept and retried; open the delivery
        log to see why.
      </Banner>
    );
  }
  if (webhook.health === "paused") {
    return (
      <Banner tone="warning" title="Your webhook is paused" action={{ content: "Manage webhook", url: WEBHOOK_PAGE }}>
        {webhook.pausedReason ?? "Nothing is sent until you resume it."}
      </Banner>
    );
  }
  return null;
}
