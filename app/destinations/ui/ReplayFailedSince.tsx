import { useFetcher } from "@remix-run/react";
import { BlockStack, Button, InlineStack, Text, TextField } from "@shopify/polaris";
import { useState } from "react";
import type { EndpointView } from "../endpoints.server";
import { errorOf, type WebhookActionData } from "./action-data";
import { utcDay } from "./format";

/**
 * Replay every failed delivery since a day: first the count, then the merchant confirms that number. The
 * default day is that of the last success, so "since it last worked" is one click.
 */
export function ReplayFailedSince({ endpoint }: { endpoint: EndpointView }) {
  const [since, setSince] = useState(utcDay(new Date(endpoint.lastSuccessAt ?? endpoint.createdAt)));
  const count = useFetcher<WebhookActionData>({ key: "webhook-count-failed" });
  const replay = useFetcher<WebhookActionData>({ key: "webhook-replay-failed" });
  const counted = count.data?.intent === "count_failed" && "count" in count.data && count.data.since === since ? count.data : null;
  const replayed = replay.data?.intent === "replay_failed" && "replayed" in replay.data ? replay.data : null;
  const error = errorOf(count.data) ?? errorOf(replay.data);
  return (
    <BlockStack gap="200">
      <InlineStack gap="300" blockAlign="end" wrap>
        <TextField label="Replay failed deliveries since (UTC)" type="date" value={since} onChange={setSince} autoComplete="off" />
        <Button
          loading={count.state !== "idle"}
          onClick={() => count.submit({ intent: "count_failed", destinationId: endpoint.id, since }, { method: "post" })}
        >
          Count failed deliveries
        </Button>
      </InlineStack>
      {counted && replay.state === "idle" && !(replayed && replayed.since === since) ? (
        counted.count === 0 ? (
          <Text as="p" tone="subdued">No failed deliveries since {since}.</Text>
        ) : (
          <InlineStack gap="300" blockAlign="center">
            <Text as="p">
              {counted.count === 1 ? "1 failed delivery" : `${counted.count} failed deliveries`} since {since} will be sent again, each with its
              own delivery id.
            </Text>
            <Button
              variant="primary"
              onClick={() => replay.submit({ intent: "replay_failed", destinationId: endpoint.id, since }, { method: "post" })}
            >
              {`Replay ${counted.count}`}
            </Button>
          </InlineStack>
        )
      ) : null}
      {replay.state !== "idle" ? <Text as="p" tone="subdued">Replaying…</Text> : null}
      {replayed && replay.state === "idle" ? (
        <Text as="p" tone="success">{replayed.replayed === 1 ? "1 delivery" : `${replayed.replayed} deliveries`} queued again.</Text>
      ) : null}
      {error ? <Text as="p" tone="critical">{error}</Text> : null}
    </BlockStack>
  );
}
