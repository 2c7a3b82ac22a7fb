import { Suspense, lazy, useEffect, useState, type ReactNode } from "react";
import { Await } from "@remix-run/react";
import { BlockStack, Box, Card, InlineGrid, Text } from "@shopify/polaris";
import type { LeadsActivity } from "../activity.server";
import { CHART_HEIGHT, CHART_TITLES, formatDay } from "./chart-format";

/**
 * The chart at the top of the Leads tab. Its figures arrive after the page (a deferred promise), and the
 * charting library is loaded only in the browser, after hydration, as its own chunk with its own styles: the
 * table of leads paints first. Every state (loading, charts, a plain message) fills the same fixed height,
 * so nothing below moves when the chart arrives.
 */

const Charts = lazy(() => import("./LeadsActivityCharts"));

/** Title line plus chart, in pixels: the body's fixed height. */
export const CHART_BODY_HEIGHT = CHART_HEIGHT + 32;

function Frame({ children }: { children: ReactNode }) {
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Last 30 days</Text>
        <div style={{ height: CHART_BODY_HEIGHT, overflow: "hidden" }} data-testid="leads-chart">
          {children}
        </div>
      </BlockStack>
    </Card>
  );
}

function Placeholder() {
  return (
    <InlineGrid columns={3} gap="400">
      {CHART_TITLES.map((title) => (
        <BlockStack key={title} gap="200">
          <Text as="h3" variant="headingSm">{title}</Text>
          <div style={{ height: CHART_HEIGHT, borderRadius: 8, background: "var(--p-color-bg-surface-secondary)" }} aria-hidden />
        </BlockStack>
      ))}
    </InlineGrid>
  );
}

function Message({ children }: { children: ReactNode }) {
  return (
    <div style={{ height: "100%", display: "flex", alignItems: "center", justifyContent: "center", textAlign: "center" }}>
      <Box maxWidth="520px">
        <Text as="p" tone="subdued" variant="bodyLg">{children}</Text>
      </Box>
    </div>
  );
}

/** True once React runs in the browser (false during server rendering and hydration). */
function useHydrated(): boolean {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}

export function ActivityView({ activity }: { activity: LeadsActivity }) {
  const hydrated = useHydrated();
  if (activity.totalLeads === 0) {
    return <Message>No leads in the last 30 days yet. The chart fills in as shoppers try products on and leave their email.</Message>;
  }
  if (activity.activeDays === 1) {
    const day = activity.days[activity.leads.findIndex((n) => n > 0)];
    const count = activity.totalLeads;
    return (
      <Message>
        {count === 1 ? "Your one lead" : `All ${count} leads`} of the last 30 days came on {formatDay(day)}. The chart appears once
        leads have come in on a second day.
      </Message>
    );
  }
  if (!hydrated) return <Placeholder />;
  return (
    <Suspense fallback={<Placeholder />}>
      <Charts activity={activity} />
    </Suspense>
  );
}

export function LeadsChart({ activity }: { activity: Promise<LeadsActivity> }) {
  return (
    <Frame>
      <Suspense fallback={<Placeholder />}>
        <Await resolve={activity} errorElement={<Message>The chart could not be loaded. Reload the page to try again.</Message>}>
          {(resolved) => <ActivityView activity={resolved} />}
        </Await>
      </Suspense>
    </Frame>
  );
}
