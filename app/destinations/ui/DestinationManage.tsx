import { Form, useFetcher, useNavigation, useRevalidator } from "@remix-run/react";
import { useAppBridge } from "@shopify/app-bridge-react";
import {
  Badge, Banner, BlockStack, Button, Card, Checkbox, InlineStack, ProgressBar, Select, Text, TextField,
} from "@shopify/polaris";
import { useEffect, useRef, useState } from "react";
import type { BackfillView } from "../backfill.server";
import type { EndpointView } from "../endpoints.server";
import type { KlaviyoSettings } from "../klaviyo/destination";
import { errorOf, type DestinationActionData } from "./action-data";
import { destinationPage, KIND_LABEL, statusBadge } from "./DestinationsCard";
import { formatUtc, utcDay } from "./format";
import { TestSendResultBanner } from "./TestSendResult";
import { HealthLine24h } from "./HealthLine24h";

/** The cards of one destination's page: status and test, name, filters, Klaviyo settings, backfill, disconnect. */

const WHAT_TO_DO: Partial<Record<string, string>> = {
  credentials_rejected: "Paste a new private API key with the scopes listed, then resume the destination.",
  connection_failed: "Check that your receiver is running and reachable from the internet.",
  dns_failure: "Check the address for typos: its host name does not exist.",
  tls_error: "Your receiver's HTTPS certificate is not valid; renew or fix it.",
  timeout: "Your receiver took too long to answer; it should answer within a few seconds and do slow work afterwards.",
  redirect: "Use the final address of your receiver: redirects are not followed.",
  endpoint_gone: "Your receiver says this address is gone; connect the new one.",
};

export function StatusCard(props: {
  destination: EndpointView;
  healthLine: string | null;
  disconnectedAt: string | null;
  last24h?: { line: string; deliveredShare: number | null } | null;
}) {
  const { destination, healthLine, disconnectedAt, last24h } = props;
  const badge = disconnectedAt
    ? { tone: undefined, label: "Disconnected" }
    : statusBadge({ health: destination.health, waiting: destination.state === "active" && destination.circuit !== null });
  const target = destination.kind === "klaviyo" ? null : destination.url;
  return (
    <Card>
      <BlockStack gap="300">
        <InlineStack align="space-between" blockAlign="center">
          <BlockStack gap="100">
            <Text as="h2" variant="headingMd">{destination.name}</Text>
            <Text as="span" tone="subdued">{KIND_LABEL[destination.kind]}</Text>
          </BlockStack>
          <Badge tone={badge.tone}>{badge.label}</Badge>
        </InlineStack>
        {target ? (
          <Text as="p" breakWord>
            <span data-testid="destination-url" style={{ fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" }}>{target}</span>
          </Text>
        ) : null}
        {destination.credentialsHint ? <Text as="p" tone="subdued">API key ending in {destination.credentialsHint}</Text> : null}
        {disconnectedAt ? (
          <Banner tone="info" title="Disconnected">
            Nothing has been sent to this destination since {formatUtc(disconnectedAt)}. Its delivery log is kept below.
          </Banner>
        ) : healthLine ? (
          <Banner tone={destination.health === "paused" ? "warning" : "critical"}>
            <span data-testid="health-line">{healthLine}</span>
          </Banner>
        ) : (
          <Text as="p" tone="success">Working: new leads are sent within seconds.</Text>
        )}
        {last24h ? <span data-testid="health-24h"><HealthLine24h health={last24h} /></span> : null}
        <Text as="p" tone="subdued">
          Connected {formatUtc(destination.createdAt)}
          {" · "}Last success: {destination.lastSuccessAt ? formatUtc(destination.lastSuccessAt) : "none yet"}
          {" · "}Last failure: {destination.lastFailureAt ? formatUtc(destination.lastFailureAt) : "none"}
        </Text>
      </BlockStack>
    </Card>
  );
}

export function TestSendCard({ destination }: { destination: EndpointView }) {
  const fetcher = useFetcher<DestinationActionData>({ key: "destination-send-test" });
  const result = fetcher.data?.intent === "send_test" && "result" in fetcher.data ? fetcher.data.result : null;
  const error = errorOf(fetcher.data);
  const klaviyo = destination.kind === "klaviyo";
  const noun = klaviyo ? "test event" : destination.kind === "http_request" ? "test request" : "test webhook";
  const hint = result && result.outcome === "failed" ? WHAT_TO_DO[result.errorCode] : undefined;
  return (
    <BlockStack gap="200">
      <InlineStack gap="300" blockAlign="center">
        <Button
          onClick={() => fetcher.submit({ intent: "send_test" }, { method: "post" })}
          loading={fetcher.state !== "idle"}
          disabled={destination.state === "paused"}
        >
          {`Send ${noun}`}
        </Button>
        <Text as="span" tone="subdued">
          {klaviyo
            ? "Sends a test event with a made-up shopper to your Klaviyo account."
            : "Sends a test with a made-up shopper (event: test), exactly like a real lead."}
          {destination.state === "paused" ? " Resume the destination to send one." : ""}
        </Text>
      </InlineStack>
      {fetcher.state === "idle" && result ? (
        <BlockStack gap="100">
          <TestSendResultBanner result={result} noun={noun} receiver={klaviyo ? "Klaviyo" : "Your receiver"} />
          {hint ? <Text as="p">What to do: {hint}</Text> : null}
        </BlockStack>
      ) : null}
      {fetcher.state === "idle" && error ? <Banner tone="critical">{error}</Banner> : null}
    </BlockStack>
  );
}

export function RenameCard({ destination }: { destination: EndpointView }) {
  const [name, setName] = useState(destination.name);
  const fetcher = useFetcher<DestinationActionData>({ key: "destination-rename" });
  const error = errorOf(fetcher.data);
  return (
    <fetcher.Form method="post">
      <input type="hidden" name="intent" value="rename" />
      <InlineStack gap="300" blockAlign="end">
        <div style={{ minWidth: 280 }}>
          <TextField label="Name" name="name" value={name} onChange={setName} autoComplete="off" maxLength={60} error={error ?? undefined}
            helpText="What you call this destination in the Leads tab." />
        </div>
        <Button submit loading={fetcher.state !== "idle"} disabled={name.trim() === destination.name}>Rename</Button>
        {fetcher.state === "idle" && fetcher.data?.intent === "rename" && !error ? <Text as="span" tone="success">Saved.</Text> : null}
      </InlineStack>
    </fetcher.Form>
  );
}

export function FiltersCard(props: { destination: EndpointView; productTitles: Record<string, string> }) {
  const { destination } = props;
  const shopify = useAppBridge();
  const [captured, setCaptured] = useState(destination.events.includes("lead_captured"));
  const [redacted, setRedacted] = useState(destination.events.includes("lead_redacted"));
  const [products, setProducts] = useState<{ id: string; title: string }[]>(
    (destination.productIds ?? []).map((id) => ({ id, title: props.productTitles[id] ?? `Product ${id}` })),
  );
  const [pickerError, setPickerError] = useState<string | null>(null);
  const fetcher = useFetcher<DestinationActionData>({ key: "destination-filters" });
  const error = errorOf(fetcher.data);
  const httpRequest = destination.kind === "http_request";

  const pick = async () => {
    setPickerError(null);
    try {
      const chosen = await shopify.resourcePicker({
        type: "product",
        multiple: true,
        selectionIds: products.map((p) => ({ id: `gid://shopify/Product/${p.id}` })),
      });
      if (!chosen) return;
      const picked = (chosen as unknown as { id: string; title?: string }[]).map((p) => ({
        id: String(p.id).replace(/^gid:\/\/shopify\/Product\//, ""),
        title: p.title ?? `Product ${p.id}`,
      }));
      setProducts(picked);
    } catch {
      setPickerError("The product picker could not open. Reload the page and try again.");
    }
  };

  return (
    <Card>
      <fetcher.Form method="post">
        <input type="hidden" name="intent" value="filters" />
        <input type="hidden" name="productIds" value={products.map((p) => p.id).join(",")} />
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">What this destination receives</Text>
          <input type="hidden" name="lead_captured" value={captured ? "on" : ""} />
          <input type="hidden" name="lead_redacted" value={redacted && !httpRequest ? "on" : ""} />
          <Checkbox label="New leads" helpText="A shopper tried a product on and left an email." checked={captured} onChange={setCaptured} />
          <Checkbox
            label="Erasure requests"
            helpText={httpRequest
              ? "Not available for an HTTP request: use a signed webhook or Klaviyo to pass on erasures."
              : destination.kind === "klaviyo"
                ? "When a shopper asks your store to erase their data, their profile is deleted in Klaviyo."
                : "A shopper asked your store to erase their data: the destination is told so it can erase them too."}
            checked={redacted}
            disabled={httpRequest}
            onChange={setRedacted}
          />
          <BlockStack gap="200">
            <Text as="p">
              {products.length === 0
                ? "Products: every product."
                : `Products: only leads for ${products.length === 1 ? "this product" : `these ${products.length} products`}:`}
            </Text>
            {products.length ? (
              <InlineStack gap="100" wrap>
                {products.map((p) => <Badge key={p.id}>{p.title}</Badge>)}
              </InlineStack>
            ) : null}
            <InlineStack gap="200">
              <Button onClick={pick}>{products.length ? "Change products" : "Choose products"}</Button>
              {products.length ? <Button variant="plain" onClick={() => setProducts([])}>Send every product</Button> : null}
            </InlineStack>
            {pickerError ? <Text as="p" tone="critical">{pickerError}</Text> : null}
          </BlockStack>
          {error ? <Banner tone="critical">{error}</Banner> : null}
          <InlineStack gap="200" blockAlign="center">
            <Button submit variant="primary" loading={fetcher.state !== "idle"}>Save filters</Button>
            {fetcher.state === "idle" && fetcher.data?.intent === "filters" && !error ? (
              <Text as="span" tone="success">Saved. Leads captured from now on follow these filters.</Text>
            ) : null}
          </InlineStack>
        </BlockStack>
      </fetcher.Form>
    </Card>
  );
}

export function KlaviyoSettingsCard({ settings }: { settings: KlaviyoSettings }) {
  const [metricName, setMetricName] = useState(settings.metricName);
  const [listId, setListId] = useState(settings.listId ?? "");
  const lists = useFetcher<DestinationActionData>({ key: "klaviyo-lists" });
  const save = useFetcher<DestinationActionData>({ key: "klaviyo-settings" });
  const loaded = lists.data?.intent === "klaviyo_lists" && "lists" in lists.data ? lists.data : null;
  const listsError = errorOf(lists.data);
  const error = errorOf(save.data);
  const options = [
    { label: "No list (events only)", value: "" },
    ...(loaded ? loaded.lists.map((l) => ({ label: l.name, value: l.id })) : settings.listId ? [{ label: settings.listName ?? settings.listId, value: settings.listId }] : []),
  ];
  const listName = options.find((o) => o.value === listId)?.label ?? "";
  return (
    <Card>
      <save.Form method="post">
        <input type="hidden" name="intent" value="klaviyo_settings" />
        <input type="hidden" name="listName" value={listId ? listName : ""} />
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">Klaviyo settings</Text>
          {settings.accountName ? <Text as="p" tone="subdued">Account: {settings.accountName}</Text> : null}
          <TextField
            label="Event name in Klaviyo"
            name="metricName"
            value={metricName}
            onChange={setMetricName}
            autoComplete="off"
            helpText="Each lead is recorded in Klaviyo as this event (metric); build flows on it."
          />
          <InlineStack gap="200" blockAlign="end">
            <Select label="Subscribe consenting shoppers to a list" name="listId" options={options} value={listId} onChange={setListId} />
            <Button loading={lists.state !== "idle"} onClick={() => lists.submit({ intent: "klaviyo_lists" }, { method: "post" })}>
              {loaded ? "Reload lists" : "Load lists from Klaviyo"}
            </Button>
          </InlineStack>
          {loaded?.truncated ? <Text as="p" tone="subdued">Only your newest {loaded.lists.length} lists are shown.</Text> : null}
          {listsError ? <Text as="p" tone="critical">{listsError}</Text> : null}
          {error ? <Banner tone="critical">{error}</Banner> : null}
          <InlineStack gap="200" blockAlign="center">
            <Button submit variant="primary" loading={save.state !== "idle"}>Save Klaviyo settings</Button>
            {save.state === "idle" && save.data?.intent === "klaviyo_settings" && !error ? <Text as="span" tone="success">Saved.</Text> : null}
          </InlineStack>
        </BlockStack>
      </save.Form>
    </Card>
  );
}

/** "Send earlier leads": a start date, the count to confirm, then a progress bar that survives a reload. */
export function BackfillCard({ destination, backfill: loaded }: { destination: EndpointView; backfill: BackfillView | null }) {
  const [since, setSince] = useState(utcDay(new Date(Date.now() - 30 * 86_400_000)));
  const count = useFetcher<DestinationActionData>({ key: "backfill-count" });
  const start = useFetcher<DestinationActionData>({ key: "backfill-start" });
  const cancel = useFetcher<DestinationActionData>({ key: "backfill-cancel" });
  // While a run goes on, only its progress is polled (its own small route); the page reloads once when it ends,
  // so the delivery log shows what it sent.
  const progress = useFetcher<{ backfill: BackfillView | null }>({ key: "backfill-progress" });
  const polled = progress.data?.backfill;
  const backfill = polled && loaded && polled.id === loaded.id ? polled : loaded;
  const running = backfill?.status === "running";
  const progressUrl = `${destinationPage(destination.id)}/backfill`;
  const poll = useRef(progress);
  poll.current = progress;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      if (poll.current.state === "idle") poll.current.load(progressUrl);
    }, 2_000);
    return () => clearInterval(timer);
  }, [running, progressUrl]);
  const revalidator = useRevalidator();
  const status = backfill?.status;
  const lastStatus = useRef(status);
  useEffect(() => {
    // Ended as the poll saw it (a stop clicked here reloads the page by itself).
    if (lastStatus.current === "running" && status !== "running" && loaded?.status === "running" && revalidator.state === "idle") revalidator.revalidate();
    lastStatus.current = status;
  }, [status, loaded?.status, revalidator]);
  const counted = count.data?.intent === "backfill_count" && "count" in count.data && count.data.since === since ? count.data : null;
  const error = errorOf(count.data) ?? errorOf(start.data) ?? errorOf(cancel.data);
  const receivesLeads = destination.events.includes("lead_captured");
  const percent = backfill && backfill.total > 0 ? Math.round((backfill.processed / backfill.total) * 100) : 100;
  const startedNow = start.data?.intent === "backfill_start" && !errorOf(start.data);
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Send earlier leads</Text>
        <Text as="p" tone="subdued">
          Leads captured before this destination was connected (or while it missed them) can be sent to it now. Each lead
          goes at most once; leads it already has are skipped.
        </Text>
        {backfill ? (
          <BlockStack gap="200">
            <div data-testid="backfill-progress">
              <Text as="p">
                {backfill.status === "running"
                  ? `Sending leads captured since ${backfill.since.slice(0, 10)}: ${backfill.processed} of ${backfill.total} queued.`
                  : backfill.status === "done"
                    ? `Done: ${backfill.total === 1 ? "1 lead" : `${backfill.total} leads`} captured since ${backfill.since.slice(0, 10)} queued for sending.`
                    : `Stopped after ${backfill.processed} of ${backfill.total} leads captured since ${backfill.since.slice(0, 10)}.`}
              </Text>
            </div>
            <ProgressBar progress={percent} tone={backfill.status === "cancelled" ? "critical" : "primary"} size="small" />
            {running ? (
              <div>
                <Button tone="critical" loading={cancel.state !== "idle"}
                  onClick={() => cancel.submit({ intent: "backfill_cancel", backfillId: backfill.id }, { method: "post" })}>
                  Stop sending earlier leads
                </Button>
              </div>
            ) : null}
          </BlockStack>
        ) : null}
        {!running ? (
          <BlockStack gap="200">
            <InlineStack gap="300" blockAlign="end" wrap>
              <TextField label="Send leads captured since (UTC)" type="date" value={since} onChange={setSince} autoComplete="off" disabled={!receivesLeads} />
              <Button disabled={!receivesLeads} loading={count.state !== "idle"}
                onClick={() => count.submit({ intent: "backfill_count", since }, { method: "post" })}>
                Count leads
              </Button>
            </InlineStack>
            {!receivesLeads ? <Text as="p" tone="subdued">This destination does not receive new leads; turn on “New leads” first.</Text> : null}
            {counted && !startedNow ? (
              counted.count === 0 ? (
                <Text as="p" tone="subdued">No leads captured since {since} for this destination.</Text>
              ) : (
                <InlineStack gap="300" blockAlign="center">
                  <Text as="p">
                    {counted.count === 1 ? "1 lead" : `${counted.count} leads`} captured since {since} will be sent
                    {destination.productIds ? " (only the chosen products)" : ""}.
                  </Text>
                  <Button variant="primary" loading={start.state !== "idle"}
                    onClick={() => start.submit({ intent: "backfill_start", since }, { method: "post" })}>
                    {`Send ${counted.count} ${counted.count === 1 ? "lead" : "leads"}`}
                  </Button>
                </InlineStack>
              )
            ) : null}
          </BlockStack>
        ) : null}
        {error ? <Text as="p" tone="critical">{error}</Text> : null}
      </BlockStack>
    </Card>
  );
}

export function DisconnectCard({ destination }: { destination: EndpointView }) {
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const submitting = navigation.state === "submitting" && navigation.formData?.get("intent") === "disconnect";
  return (
    <Card>
      <Form method="post">
        <input type="hidden" name="intent" value="disconnect" />
        <BlockStack gap="200">
          <Text as="h2" variant="headingMd">Disconnect</Text>
          {confirming ? (
            <Banner tone="critical" title={`Disconnect ${destination.name}?`}>
              <BlockStack gap="200">
                <Text as="p">
                  Nothing more is sent to it from the moment you confirm. Deliveries still waiting are cancelled (they stay
                  in the log as cancelled). Your leads stay in the Leads tab and the CSV export.
                  {destination.kind === "klaviyo" ? " The stored Klaviyo key is no longer used." : ""}
                </Text>
                <InlineStack gap="200">
                  <Button submit variant="primary" tone="critical" loading={submitting}>Disconnect now</Button>
                  <Button onClick={() => setConfirming(false)}>Cancel</Button>
                </InlineStack>
              </BlockStack>
            </Banner>
          ) : (
            <InlineStack gap="300" blockAlign="center">
              <Button tone="critical" onClick={() => setConfirming(true)}>Disconnect</Button>
              <Text as="span" tone="subdued">Stops sending to this destination for good. To stop for a while, pause it instead.</Text>
            </InlineStack>
          )}
        </BlockStack>
      </Form>
    </Card>
  );
}
