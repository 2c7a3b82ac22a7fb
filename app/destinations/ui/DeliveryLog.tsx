import { Form, useFetcher, useSearchParams } from "@remix-run/react";
import { Badge, Banner, BlockStack, Box, Button, Card, InlineStack, Link, Select, Text, TextField } from "@shopify/polaris";
import { useState } from "react";
import { DELIVERY_STATUSES } from "../../delivery/types";
import type { DeliveryLogFilters } from "../delivery-log-filters";
import type { DeliveryLogPage, DeliveryView } from "../delivery-log.server";
import type { EndpointView } from "../endpoints.server";
import { errorOf, type WebhookActionData } from "./action-data";
import { destinationPage } from "./DestinationsCard";
import { formatUtc, STATUS_BADGE } from "./format";
import { ReplayFailedSince } from "./ReplayFailedSince";

/** Every delivery with its attempts, filterable by status and date, with replays. */
export function DeliveryLog(props: {
  log: DeliveryLogPage;
  filters: DeliveryLogFilters;
  filterError: string | null;
  endpoint: EndpointView | null;
  /**
   * Where "Show all deliveries" leads from a lead's deliveries: the one destination's log. A lead's deliveries
   * to every destination have no such button; each row links to its destination's page instead.
   */
  allUrl?: string;
}) {
  const { log, filters, filterError, endpoint } = props;
  const [params] = useSearchParams();
  const [status, setStatus] = useState<string>(filters.status ?? "");
  const [from, setFrom] = useState(filters.from ?? "");
  const [to, setTo] = useState(filters.to ?? "");
  const next = new URLSearchParams(params);
  if (log.nextCursor) next.set("after", log.nextCursor);
  const title = filters.lead ? "Deliveries of this lead" : endpoint ? "Delivery log" : "Delivery history";

  return (
    <Card>
      <BlockStack gap="400">
        <Text as="h2" variant="headingMd">{title}</Text>
        {filterError ? <Banner tone="critical" title="Filters not applied">{filterError}</Banner> : null}
        <Form method="get">
          {filters.lead ? <input type="hidden" name="lead" value={filters.lead} /> : null}
          <InlineStack gap="300" blockAlign="end" wrap>
            <Select
              label="Status"
              name="status"
              value={status}
              onChange={setStatus}
              options={[{ label: "All", value: "" }, ...DELIVERY_STATUSES.map((s) => ({ label: STATUS_BADGE[s].label, value: s }))]}
            />
            <TextField label="From (UTC)" type="date" name="from" value={from} onChange={setFrom} autoComplete="off" />
            <TextField label="To (UTC)" type="date" name="to" value={to} onChange={setTo} autoComplete="off" />
            <Button submit>Apply</Button>
            {filters.lead && props.allUrl ? <Button url={props.allUrl}>Show all deliveries</Button> : null}
          </InlineStack>
        </Form>
        {endpoint ? <ReplayFailedSince endpoint={endpoint} /> : null}
        {log.rows.length === 0 ? (
          <Text as="p" tone="subdued">No deliveries match.</Text>
        ) : (
          <BlockStack gap="300">
            {log.rows.map((d) => <DeliveryRow key={d.id} delivery={d} showDestination={Boolean(filters.lead)} />)}
          </BlockStack>
        )}
        <InlineStack gap="200">
          {params.get("after") ? <Button url={`?${withoutCursor(params)}`}>Newest</Button> : null}
          {log.nextCursor ? <Button url={`?${next.toString()}`}>Older deliveries</Button> : null}
        </InlineStack>
      </BlockStack>
    </Card>
  );
}

function withoutCursor(params: URLSearchParams): string {
  const copy = new URLSearchParams(params);
  copy.delete("after");
  return copy.toString();
}

function DeliveryRow({ delivery, showDestination }: { delivery: DeliveryView; showDestination: boolean }) {
  const badge = STATUS_BADGE[delivery.status];
  const replay = useFetcher<WebhookActionData>();
  const replayable = delivery.status === "failed" || delivery.status === "delivered";
  const error = errorOf(replay.data);
  return (
    <Box borderWidth="025" borderColor="border" borderRadius="200" padding="300">
      <BlockStack gap="200">
        <InlineStack align="space-between" blockAlign="center" wrap>
          <InlineStack gap="200" blockAlign="center" wrap>
            <Badge tone={badge.tone}>{badge.label}</Badge>
            {delivery.event === "test" ? <Badge tone="info">Test</Badge> : <Text as="span">New lead</Text>}
            {showDestination ? (
              <Link url={destinationPage(delivery.destinationId)} removeUnderline>
                <Text as="span" fontWeight="semibold">to {delivery.destinationName}</Text>
              </Link>
            ) : null}
            <Text as="span" tone="subdued">{formatUtc(delivery.createdAt)}</Text>
            <Text as="span" tone="subdued">Delivery {delivery.id}</Text>
          </InlineStack>
          {replayable ? (
            <Button
              size="slim"
              loading={replay.state !== "idle"}
              onClick={() => replay.submit({ intent: "replay", deliveryId: delivery.id }, { method: "post" })}
            >
              Replay
            </Button>
          ) : null}
        </InlineStack>
        {delivery.nextAttemptAt ? <Text as="p" tone="subdued">Next attempt: {formatUtc(delivery.nextAttemptAt)}</Text> : null}
        {delivery.status === "cancelled" && delivery.lastError ? <Text as="p" tone="subdued">{delivery.lastError}</Text> : null}
        {replay.state === "idle" && replay.data?.intent === "replay" && !error ? (
          <Text as="p" tone="success">Queued again with the same delivery id.</Text>
        ) : null}
        {replay.state === "idle" && error ? <Text as="p" tone="critical">{error}</Text> : null}
        {delivery.attempts.length ? <Attempts delivery={delivery} /> : <Text as="p" tone="subdued">No attempt yet.</Text>}
      </BlockStack>
    </Box>
  );
}

const cell = { padding: "4px 8px", textAlign: "left" as const, verticalAlign: "top" as const };

function Attempts({ delivery }: { delivery: DeliveryView }) {
  return (
    <table style={{ borderCollapse: "collapse", width: "100%", fontSize: 13 }}>
      <thead>
        <tr>
          {["Attempt", "Time (UTC)", "Status code", "Duration", "Result"].map((h) => (
            <th key={h} style={{ ...cell, fontWeight: 600 }}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {delivery.attempts.map((a) => (
          <tr key={a.number}>
            <td style={cell}>#{a.number}</td>
            <td style={cell}>{formatUtc(a.startedAt)}</td>
            <td style={cell}>{a.statusCode ?? "—"}</td>
            <td style={cell}>{a.durationMs} ms</td>
            <td style={cell}>
              {a.errorCode ? a.errorMessage ?? a.errorCode : "Delivered"}
              {a.errorCode && a.responseExcerpt ? <div style={{ color: "#616161" }}>Answer: <code>{a.responseExcerpt}</code></div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
