import { Badge, Banner, BlockStack, Box, Button, Card, InlineStack, Text } from "@shopify/polaris";
import type { ReactNode } from "react";
import type { DestinationKind } from "../../delivery/destination-rules";
import type { DestinationLine, DestinationsSummary } from "../summary.server";
import { HEALTH_BADGE } from "./format";

export const DESTINATIONS_PAGE = "/app/leads/destinations";
export const ADD_DESTINATION_PAGE = `${DESTINATIONS_PAGE}/new`;

export function destinationPage(id: string): string {
  return `${DESTINATIONS_PAGE}/${encodeURIComponent(id)}`;
}

export const KIND_LABEL: Record<DestinationKind, string> = {
  webhook: "Signed webhook",
  klaviyo: "Klaviyo",
  http_request: "HTTP request",
};

/** The status a merchant reads: waiting (the receiver stopped answering) is told apart from failing. */
export function statusBadge(line: Pick<DestinationLine, "health" | "waiting">): { tone: (typeof HEALTH_BADGE)[keyof typeof HEALTH_BADGE]["tone"]; label: string } {
  if (line.waiting) return { tone: "warning", label: "Waiting" };
  if (line.health === "healthy") return { tone: "success", label: "Active" };
  return HEALTH_BADGE[line.health];
}

/** The Leads tab's Destinations card: every connected destination, Add destination, and the CSV export. */
export function DestinationsCard({ summary, exportAction }: { summary: DestinationsSummary; exportAction: ReactNode }) {
  const { destinations, limit } = summary;
  const full = destinations.length >= limit;
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack align="space-between" blockAlign="center">
          <Text as="h2" variant="headingMd">Destinations</Text>
          <Button url={ADD_DESTINATION_PAGE} variant="primary" disabled={full}>Add destination</Button>
        </InlineStack>
        <Text as="p" tone="subdued">
          {destinations.length === 0
            ? "Send every new lead to the tools you use: Klaviyo, Zapier, Make, your CRM or your developer's server."
            : `Every new lead goes to each destination below within seconds. ${destinations.length} of ${limit} connected.`}
        </Text>
        {full ? (
          <Text as="p" tone="subdued">You have connected the most destinations a store can have; disconnect one to add another.</Text>
        ) : null}
        <BlockStack gap="200">
          {destinations.map((line) => <DestinationRow key={line.id} line={line} />)}
          <Box borderWidth="025" borderColor="border" borderRadius="200" padding="300">
            <InlineStack align="space-between" blockAlign="center" gap="300" wrap={false}>
              <BlockStack gap="100">
                <InlineStack gap="200" blockAlign="center">
                  <Text as="span" fontWeight="semibold">CSV export</Text>
                  <Badge tone="success">Available</Badge>
                </InlineStack>
                <Text as="span" tone="subdued">Download the leads shown (with the filters applied) as a spreadsheet</Text>
              </BlockStack>
              <span>{exportAction}</span>
            </InlineStack>
          </Box>
        </BlockStack>
      </BlockStack>
    </Card>
  );
}

function DestinationRow({ line }: { line: DestinationLine }) {
  const badge = statusBadge(line);
  return (
    <div data-testid="destination-row">
      <Box borderWidth="025" borderColor="border" borderRadius="200" padding="300">
        <InlineStack align="space-between" blockAlign="center" gap="300" wrap={false}>
          <BlockStack gap="100">
            <InlineStack gap="200" blockAlign="center">
              <Text as="span" fontWeight="semibold">{line.name}</Text>
              <Badge tone={badge.tone}>{badge.label}</Badge>
            </InlineStack>
            <Text as="span" tone="subdued">{KIND_LABEL[line.kind]}{line.target ? ` · ${line.target}` : ""}</Text>
            {line.healthLine ? <Text as="span" tone={line.health === "paused" ? "subdued" : "critical"}>{line.healthLine}</Text> : null}
          </BlockStack>
          <Button url={destinationPage(line.id)} accessibilityLabel={`Manage ${line.name}`}>Manage</Button>
        </InlineStack>
      </Box>
    </div>
  );
}

/** Shown above the leads when destinations need the merchant: failing, waiting or paused. */
export function DestinationsHealthBanner({ summary }: { summary: DestinationsSummary }) {
  const troubled = summary.destinations.filter((d) => d.health === "failing" || d.health === "paused");
  if (troubled.length === 0) return null;
  const failing = troubled.filter((d) => d.health === "failing");
  const paused = troubled.filter((d) => d.health === "paused");
  const parts: string[] = [];
  if (failing.length) parts.push(failing.length === 1 ? "1 destination is not receiving leads" : `${failing.length} destinations are not receiving leads`);
  if (paused.length) parts.push(paused.length === 1 ? "1 destination is paused" : `${paused.length} destinations are paused`);
  const title = parts.join(" and ");
  const first = troubled[0];
  return (
    <Banner
      tone={failing.length ? "critical" : "warning"}
      title={title.charAt(0).toUpperCase() + title.slice(1)}
      action={{ content: `Manage ${first.name}`, url: destinationPage(first.id) }}
    >
      <BlockStack gap="100">
        {troubled.map((d) => (
          <Text as="p" key={d.id}>
            <b>{d.name}</b>: {d.healthLine ?? (d.health === "paused" ? "Paused." : "Failing.")}
          </Text>
        ))}
        <Text as="p">Leads are kept here. Waiting deliveries are retried on schedule, and failed ones can be sent again from the destination's page.</Text>
      </BlockStack>
    </Banner>
  );
}
