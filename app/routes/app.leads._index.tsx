import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, useLoaderData, useNavigate, useNavigation, useSearchParams } from "@remix-run/react";
import {
  Badge,
  BlockStack,
  Button,
  Card,
  EmptyState,
  IndexTable,
  InlineStack,
  Layout,
  Link,
  Page,
  Select,
  Text,
  TextField,
  Banner,
} from "@shopify/polaris";
import { startTransition, useState } from "react";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminQuery } from "../lib/admin-input.server";
import { getDb } from "../lib/db.server";
import { InvalidFiltersError, parseLeadFilters } from "../leads/filters";
import { InvalidCursorError, listLeads, listTriedProducts, type DeliverySummary } from "../leads/leads.server";
import { destinationsSummary } from "../destinations/summary.server";
import { DestinationsCard, DestinationsHealthBanner } from "../destinations/ui/DestinationsCard";
import { cachedLeadsActivity } from "../leads/activity.server";
import { LeadsChart } from "../leads/ui/LeadsChart";
import { SendToMenu } from "../leads/ui/SendToMenu";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const query = readAdminQuery(request);
  const db = getDb();
  let filterError: string | null = null;
  let filters;
  try {
    filters = parseLeadFilters(query);
  } catch (error) {
    if (!(error instanceof InvalidFiltersError)) throw error;
    filterError = error.message;
    filters = {};
  }
  let page;
  try {
    page = await listLeads({
      db,
      shopId: shop.id,
      filters,
      after: query.get("after"),
      before: query.get("before"),
    });
  } catch (error) {
    if (!(error instanceof InvalidCursorError)) throw error;
    throw new Response("Invalid page cursor", { status: 400 });
  }
  const filtered = Boolean(filters.q || filters.product || filters.from || filters.to);
  // The chart's figures are not awaited: they stream in after the page (see LeadsChart).
  const activity = cachedLeadsActivity(db, shop.id);
  const [products, anyLead, destinations] = await Promise.all([
    listTriedProducts(db, shop.id),
    filtered || page.rows.length ? Promise.resolve(true) : db.lead.findFirst({ where: { shopId: shop.id }, select: { id: true } }).then(Boolean),
    destinationsSummary(db, shop.id),
  ]);
  const sendTargets = destinations.destinations.map((d) => ({ id: d.id, name: d.name }));
  return { page, products, filters, filterError, hasAnyLead: anyLead, destinations, activity, sendTargets };
};

/** A lead's deliveries to every destination, with their attempts and replays. */
const LEAD_DELIVERIES_PAGE = "/app/leads/integrations/webhook";

const DELIVERY_BADGE: Record<DeliverySummary, { tone?: "success" | "critical" | "attention" | "info" | "warning"; label: string }> = {
  not_sent: { label: "Not sent" },
  pending: { tone: "info", label: "Queued" },
  delivering: { tone: "info", label: "Sending" },
  retrying: { tone: "warning", label: "Retrying" },
  delivered: { tone: "success", label: "Delivered" },
  failed: { tone: "critical", label: "Failed" },
  cancelled: { label: "Cancelled" },
};

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

function ExportButton({ label = "Export CSV" }: { label?: string }) {
  const [params] = useSearchParams();
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const start = async () => {
    const body = new URLSearchParams();
    for (const key of ["q", "product", "from", "to"]) {
      const value = params.get(key);
      if (value) body.set(key, value);
    }
    setState({ busy: true, error: null });
    try {
      // A plain fetch to the resource route: App Bridge adds the session token, and the answer's status is its own.
      const response = await fetch("/app/leads/export", { method: "POST", body });
      const answer = (await response.json().catch(() => ({}))) as { downloadUrl?: string; error?: { message?: string } };
      if (!response.ok || !answer.downloadUrl) throw new Error(answer.error?.message ?? "The export could not start; try again");
      const anchor = document.createElement("a");
      anchor.href = answer.downloadUrl;
      anchor.download = "";
      document.body.appendChild(anchor);
      anchor.click();
      anchor.remove();
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error: error instanceof Error ? error.message : "The export could not start; try again" });
    }
  };
  return (
    <InlineStack gap="200" blockAlign="center">
      {state.error ? <Text as="span" tone="critical">{state.error}</Text> : null}
      <Button loading={state.busy} onClick={start}>
        {label}
      </Button>
    </InlineStack>
  );
}

export default function LeadsPage() {
  const { page, products, filters, filterError, hasAnyLead, destinations, activity, sendTargets } = useLoaderData<typeof loader>();
  const navigate = useNavigate();
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const [q, setQ] = useState(filters.q ?? "");
  const [product, setProduct] = useState(filters.product ?? "");
  const [from, setFrom] = useState(filters.from ?? "");
  const [to, setTo] = useState(filters.to ?? "");

  const goTo = (key: "after" | "before", cursor: string) => {
    const next = new URLSearchParams(params);
    next.delete("after");
    next.delete("before");
    next.set(key, cursor);
    // A transition: the click paints at once, and the page re-renders for the next rows without blocking input.
    startTransition(() => navigate(`?${next.toString()}`));
  };

  if (!hasAnyLead) {
    return (
      <Page title="Leads">
        <BlockStack gap="400">
          <Card>
            <EmptyState heading="No try-on leads yet" image="/empty-leads.svg">
              <p>
                Leads arrive from your storefront. Turn on the <b>Try-on lead capture</b> app embed in your theme editor
                (Online Store → Themes → Customize → App embeds). After a shopper tries a product on and leaves an email
                with consent, the lead appears here, the shopper is tagged in Shopify, and the lead is sent to your
                connected webhook within seconds.
              </p>
            </EmptyState>
          </Card>
          <LeadsChart activity={activity} />
          <DestinationsCard summary={destinations} exportAction={<ExportButton label="Download CSV" />} />
        </BlockStack>
      </Page>
    );
  }

  const rows = page.rows.map((lead, index) => {
    const badge = DELIVERY_BADGE[lead.delivery];
    return (
      <IndexTable.Row id={lead.id} key={lead.id} position={index}>
        <IndexTable.Cell>
          <Text as="span" fontWeight="semibold">{lead.email}</Text>
        </IndexTable.Cell>
        <IndexTable.Cell>
          <Link url={lead.productUrl} target="_blank" removeUnderline>{lead.productTitle}</Link>
          {lead.variantTitle ? <Text as="span" tone="subdued"> · {lead.variantTitle}</Text> : null}
        </IndexTable.Cell>
        <IndexTable.Cell>
          <time dateTime={lead.capturedAt}>{dateFormat.format(new Date(lead.capturedAt))}</time>
        </IndexTable.Cell>
        <IndexTable.Cell>
          {lead.tagged ? <Badge tone="success">Tagged</Badge> : lead.taggingState === "failed" ? <Badge tone="warning">Not tagged</Badge> : <Badge>Not yet</Badge>}
        </IndexTable.Cell>
        <IndexTable.Cell>
          {lead.delivery === "not_sent" ? (
            <Badge tone={badge.tone}>{badge.label}</Badge>
          ) : (
            <Link url={`${LEAD_DELIVERIES_PAGE}?lead=${encodeURIComponent(lead.id)}`} removeUnderline accessibilityLabel="Deliveries of this lead">
              <Badge tone={badge.tone}>{badge.label}</Badge>
            </Link>
          )}
        </IndexTable.Cell>
        <IndexTable.Cell><SendToMenu leadId={lead.id} destinations={sendTargets} /></IndexTable.Cell>
      </IndexTable.Row>
    );
  });

  return (
    <Page title="Leads" primaryAction={<ExportButton />}>
      <Layout>
        <Layout.Section>
          <LeadsChart activity={activity} />
        </Layout.Section>
        {destinations.destinations.some((d) => d.health === "failing" || d.health === "paused") ? (
          <Layout.Section>
            <DestinationsHealthBanner summary={destinations} />
          </Layout.Section>
        ) : null}
        <Layout.Section>
          <DestinationsCard summary={destinations} exportAction={<ExportButton label="Download CSV" />} />
        </Layout.Section>
        {filterError ? (
          <Layout.Section>
            <Banner tone="critical" title="Filters not applied">{filterError}</Banner>
          </Layout.Section>
        ) : null}
        <Layout.Section>
          <Card padding="0">
            <Form method="get" id="lead-filters">
              <div style={{ padding: "12px" }}>
                <InlineStack gap="300" blockAlign="end" wrap>
                  <div style={{ minWidth: 240, flexGrow: 1 }}>
                    <TextField label="Search by email" name="q" value={q} onChange={setQ} autoComplete="off" clearButton onClearButtonClick={() => setQ("")} />
                  </div>
                  <Select
                    label="Product"
                    name="product"
                    value={product}
                    onChange={setProduct}
                    options={[{ label: "All products", value: "" }, ...products.map((p) => ({ label: p.title, value: p.productId }))]}
                  />
                  <TextField label="From (UTC)" type="date" name="from" value={from} onChange={setFrom} autoComplete="off" />
                  <TextField label="To (UTC)" type="date" name="to" value={to} onChange={setTo} autoComplete="off" />
                  <Button submit loading={navigation.state === "loading"}>Apply</Button>
                </InlineStack>
              </div>
            </Form>
            <IndexTable
              resourceName={{ singular: "lead", plural: "leads" }}
              itemCount={page.rows.length}
              selectable={false}
              emptyState={
                <BlockStack gap="200" inlineAlign="center">
                  <Text as="p" variant="headingMd">No leads match these filters</Text>
                  <Text as="p" tone="subdued">Try another email, product or date range.</Text>
                </BlockStack>
              }
              headings={[
                { title: "Email" },
                { title: "Product tried" },
                { title: "When (UTC)" },
                { title: "Tagged in Shopify" },
                { title: "Delivery" },
                { title: "Send", hidden: true },
              ]}
              pagination={{
                hasNext: Boolean(page.nextCursor),
                hasPrevious: Boolean(page.previousCursor),
                onNext: () => page.nextCursor && goTo("after", page.nextCursor),
                onPrevious: () => page.previousCursor && goTo("before", page.previousCursor),
              }}
            >
              {rows}
            </IndexTable>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
