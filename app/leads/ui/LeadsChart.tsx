import { Suspense, lazy, memo, useEffect, useState, type ReactNode } from "react";
import { BlockStack, Box, Card, InlineGrid, Text } from "@shopify/polaris";
import type { LeadsActivity } from "../activity.server";
import { CHART_HEIGHT, CHART_TITLES, formatDay } from "./chart-format";

/**
 * The chart at the top of the Leads tab. Its figures arrive after the page (a deferred promise), and the
 * charting library is loaded only in the browser, after hydration, as its own chunk with its own styles: the
 * table of leads paints first. Every state (loading, charts, a plain message) fills the same fixed height,
 * so nothing below moves when the chart arrives.
 *
 * Moving between pages of leads runs the loader again and so hands a new promise: the chart keeps showing
 * the figures it has until the new ones arrive, and draws again only if they changed (they are cached for a
 * minute), so "Next page" never redraws or blanks it.
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

/** Rendered only in the browser (once the figures have settled there), so the library never runs on the server. */
export const ActivityView = memo(function ActivityView({ activity }: { activity: LeadsActivity }) {
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
  return (
    <Suspense fallback={<Placeholder />}>
      <Charts activity={activity} />
    </Suspense>
  );
}, (before, after) => before.activity === after.activity || JSON.stringify(before.activity) === JSON.stringify(after.activity));

type Settled = { activity: LeadsActivity } | { error: true } | null;

/** The latest promise's figures; the previous ones stay until the next arrive. */
function useSettled(activity: Promise<LeadsActivity>): Settled {
  const [settled, setSettled] = useState<Settled>(null);
  useEffect(() => {
    let current = true;
    activity.then(
      (resolved) => current && setSettled({ activity: resolved }),
      () => current && setSettled((previous) => (previous && "activity" in previous ? previous : { error: true })),
    );
    return () => {
      current = false;
    };
  }, [activity]);
  return settled;
}

export function LeadsChart({ activity }: { activity: Promise<LeadsActivity> }) {
  const settled = useSettled(activity);
  return (
    <Frame>
      {settled === null ? (
        <Placeholder />
      ) : "error" in settled ? (
        <Message>The chart could not be loaded. Reload the page to try again.</Message>
      ) : (
        <ActivityView activity={settled.activity} />
      )}
    </Frame>
  );
}
