import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useFetcher, useLoaderData } from "@remix-run/react";
import { Badge, Banner, BlockStack, Button, Card, Checkbox, IndexTable, InlineStack, Layout, Page, Select, Text } from "@shopify/polaris";
import { useState } from "react";
import { requireAdminShop } from "../shops/admin.server";
import { getConfig } from "../lib/config.server";
import { readAdminForm } from "../lib/admin-input.server";
import { getDb } from "../lib/db.server";
import { completeDataRequest, listDataRequests } from "../compliance/data-requests.server";
import { DataRequestNotFoundError } from "../compliance/errors";
import { LEAD_RETENTION_CHOICES, parseLeadRetention } from "../retention/lead-retention";
import { getLeadRetention, setLeadRetention } from "../retention/lead-retention-setting.server";

// Privacy: shoppers' data requests (from Shopify's customers/data_request) to download and mark done, and how
// long leads are kept. Whether an erasure is passed on is each destination's choice of events. The shop comes
// from the session token only.

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const db = getDb();
  const [requests, retention] = await Promise.all([listDataRequests(db, shop.id), getLeadRetention(db, shop.id)]);
  return {
    open: requests.open.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
    completed: requests.completed,
    leadRetentionMonths: retention.months,
    pruningWithinHours: Math.max(1, Math.ceil(getConfig().PRUNING_INTERVAL_SECONDS / 3600)),
  };
};

export const action = async ({ request }: ActionFunctionArgs) => {
  if (request.method !== "POST") return data({ error: "Use POST" }, { status: 405 });
  const { shop } = await requireAdminShop(request);
  const form = await readAdminForm(request);
  const intent = form.get("intent");
  const db = getDb();
  if (intent === "complete") {
    const requestId = form.get("requestId");
    if (typeof requestId !== "string" || !requestId || requestId.length > 64) return data({ error: "Which request?" }, { status: 422 });
    try {
      await completeDataRequest(db, { shopId: shop.id, requestId });
    } catch (error) {
      if (error instanceof DataRequestNotFoundError) return data({ error: "This request no longer exists" }, { status: 404 });
      throw error;
    }
    return { ok: true };
  }
  if (intent === "lead-retention") {
    const parsed = parseLeadRetention(form.get("months"));
    if (!parsed.ok) return data({ error: parsed.error }, { status: 422 });
    await setLeadRetention(db, shop.id, parsed.months);
    return { ok: true, leadRetentionMonths: parsed.months };
  }
  return data({ error: "Unknown action" }, { status: 400 });
};

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

function DownloadButton({ requestId }: { requestId: string }) {
  const [state, setState] = useState<"idle" | "loading" | "failed">("idle");
  const download = async () => {
    setState("loading");
    try {
      // App Bridge adds the session token to fetches to the app's own origin.
      const response = await fetch(`/app/privacy/${encodeURIComponent(requestId)}/download`);
      if (!response.ok) throw new Error(String(response.status));
      const url = URL.createObjectURL(await response.blob());
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = `data-request-${requestId}.json`;
      document.body.appendChild(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState("idle");
    } catch {
      setState("failed");
    }
  };
  return (
    <InlineStack gap="200" blockAlign="center">
      <Button onClick={download} loading={state === "loading"}>Download JSON</Button>
      {state === "failed" ? <Text as="span" tone="critical">Download failed; try again</Text> : null}
    </InlineStack>
  );
}

function CompleteButton({ requestId }: { requestId: string }) {
  const fetcher = useFetcher();
  return (
    <Button
      variant="plain"
      loading={fetcher.state !== "idle"}
      onClick={() => fetcher.submit({ intent: "complete", requestId }, { method: "post" })}
    >
      Mark as done
    </Button>
  );
}

function monthsLabel(months: number): string {
  return months === 1 ? "1 month" : months % 12 === 0 ? `${months / 12} ${months === 12 ? "year" : "years"}` : `${months} months`;
}

function LeadRetentionSetting({ months, checkedWithinHours }: { months: number | null; checkedWithinHours: number }) {
  const fetcher = useFetcher<{ ok?: boolean; error?: string }>();
  const [choice, setChoice] = useState(months === null ? "off" : String(months));
  // A period saved earlier that the list no longer offers stays selectable, so the page shows the truth.
  const offered = new Set<number>(LEAD_RETENTION_CHOICES);
  if (months !== null) offered.add(months);
  const options = [
    { label: "Keep leads (no automatic deletion)", value: "off" },
    ...[...offered].sort((a, b) => a - b).map((m) => ({ label: `Delete leads older than ${monthsLabel(m)}`, value: String(m) })),
  ];
  const saved = choice === (months === null ? "off" : String(months));
  return (
    <BlockStack gap="200">
      <Select
        label="How long to keep leads"
        options={options}
        value={choice}
        onChange={setChoice}
        error={fetcher.data?.error}
        helpText={
          `Leads older than the period you choose are deleted from the app for good, with their delivery history, ` +
          `within ${checkedWithinHours === 1 ? "an hour" : `${checkedWithinHours} hours`} of reaching that age. ` +
          "Leads already sent to your CRM stay there."
        }
      />
      <InlineStack gap="200" blockAlign="center">
        <Button
          disabled={saved}
          loading={fetcher.state !== "idle"}
          onClick={() => fetcher.submit({ intent: "lead-retention", months: choice }, { method: "post" })}
        >
          Save
        </Button>
        {saved && fetcher.data?.ok ? <Text as="span" tone="success">Saved</Text> : null}
      </InlineStack>
    </BlockStack>
  );
}

export default function PrivacyPage() {
  const { open, completed, leadRetentionMonths, pruningWithinHours } = useLoaderData<typeof loader>();
  const rows = open.map((r, index) => (
    <IndexTable.Row id={r.id} key={r.id} position={index}>
      <IndexTable.Cell>
        <time dateTime={r.createdAt}>{dateFormat.format(new Date(r.createdAt))}</time>
      </IndexTable.Cell>
      <IndexTable.Cell>
        <BlockStack gap="050">
          <Text as="span" fontWeight="semibold">{r.customerEmail ?? "No leads held at request time"}</Text>
          {r.customerId ? <Text as="span" tone="subdued">Shopify customer {r.customerId}</Text> : null}
        </BlockStack>
      </IndexTable.Cell>
      <IndexTable.Cell>
        {r.leads > 0 ? <Badge tone="info">{`${r.leads} ${r.leads === 1 ? "lead" : "leads"}`}</Badge> : <Badge>None held</Badge>}
      </IndexTable.Cell>
      <IndexTable.Cell>
        <InlineStack gap="300" blockAlign="center">
          <DownloadButton requestId={r.id} />
          <CompleteButton requestId={r.id} />
        </InlineStack>
      </IndexTable.Cell>
    </IndexTable.Row>
  ));

  return (
    <Page title="Privacy" backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <Card padding="0">
            <BlockStack gap="200">
              <div style={{ padding: "16px 16px 0" }}>
                <BlockStack gap="100">
                  <Text as="h2" variant="headingMd">Data requests</Text>
                  <Text as="p" tone="subdued">
                    When a customer asks your store for their data, Shopify tells the app. Download what the app holds
                    about them (their try-on leads and where each was sent), send it to the customer, then mark the
                    request done: the app then forgets the customer's email for that request.
                    {completed > 0 ? ` ${completed} earlier ${completed === 1 ? "request was" : "requests were"} answered.` : ""}
                  </Text>
                </BlockStack>
              </div>
              <IndexTable
                resourceName={{ singular: "data request", plural: "data requests" }}
                itemCount={open.length}
                selectable={false}
                emptyState={
                  <div style={{ padding: "16px" }}>
                    <Text as="p" tone="subdued">No open data requests.</Text>
                  </div>
                }
                headings={[{ title: "Received (UTC)" }, { title: "Customer" }, { title: "Held" }, { title: "Actions" }]}
              >
                {rows}
              </IndexTable>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">Erasure</Text>
              <Banner tone="info">
                Erasure requests from Shopify are carried out automatically: the customer's leads, their webhook
                deliveries and delivery history are deleted from the app. When you uninstall, your data is kept for
                48 hours in case you reinstall, then deleted.
              </Banner>
              <Text as="p" tone="subdued">
                To have your other tools erase the shopper too, turn on the "Lead erased" event on a destination (Leads,
                then the destination). A webhook then gets the lead id only; Klaviyo is asked to delete the profile.
              </Text>
            </BlockStack>
          </Card>
        </Layout.Section>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">Keeping leads</Text>
              <Text as="p" tone="subdued">
                Shopify asks apps to keep shoppers' personal data no longer than needed. By default the app keeps your
                leads until a shopper asks to be erased or you uninstall the app. You can have older leads deleted
                automatically instead.
              </Text>
              <LeadRetentionSetting months={leadRetentionMonths} checkedWithinHours={pruningWithinHours} />
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
