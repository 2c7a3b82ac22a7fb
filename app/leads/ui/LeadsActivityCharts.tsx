import { BarChart, LineChart, PolarisVizProvider, type DataSeries } from "@shopify/polaris-viz";
import "@shopify/polaris-viz/build/esm/styles.css";
import { BlockStack, InlineGrid, Text } from "@shopify/polaris";
import type { LeadsActivity } from "../activity.server";
import { CHART_HEIGHT, CHART_TITLES, formatDay, formatDuration } from "./chart-format";

/**
 * The three charts of the Leads tab, with the charting library and its styles: loaded on its own, in the
 * browser only (see LeadsChart).
 */

const DELIVERED_COLORS = ["#29845a", "#2c6ecb", "#8051ff", "#b98900", "#0094d5"];
const FAILED_COLORS = ["#e51c00", "#f49342", "#c5280c", "#ff8a5c", "#d82c0d"];

/** Room under the deliveries chart for its legend: every series by name (the library's own folds them into "+N more"). */
const LEGEND_HEIGHT = 44;

function SeriesLegend({ series }: { series: DataSeries[] }) {
  return (
    <ul style={{ height: LEGEND_HEIGHT, overflowY: "auto", margin: 0, padding: "4px 0 0", listStyle: "none", display: "flex", flexWrap: "wrap", gap: "2px 12px" }} aria-label="Legend">
      {series.map((s) => (
        <li key={s.name} style={{ display: "flex", alignItems: "center", gap: 4 }}>
          <span aria-hidden style={{ width: 10, height: 10, borderRadius: 2, background: typeof s.color === "string" ? s.color : undefined }} />
          <Text as="span" variant="bodySm" tone="subdued">{s.name}</Text>
        </li>
      ))}
    </ul>
  );
}

export default function LeadsActivityCharts({ activity }: { activity: LeadsActivity }) {
  const points = (values: (number | null)[]) => activity.days.map((day, i) => ({ key: day, value: values[i] }));
  const leads: DataSeries[] = [{ name: "Leads", data: points(activity.leads) }];
  const deliveries: DataSeries[] = activity.destinations.flatMap((d, i) => [
    { name: `${d.name}: delivered`, data: points(d.delivered), color: DELIVERED_COLORS[i % DELIVERED_COLORS.length] },
    { name: `${d.name}: failed`, data: points(d.failed), color: FAILED_COLORS[i % FAILED_COLORS.length] },
  ]);
  const latency: DataSeries[] = [
    { name: "Median", data: points(activity.latencyP50) },
    { name: "95% of leads within", data: points(activity.latencyP95) },
  ];
  const xAxis = { labelFormatter: (value: string | number | null) => formatDay(String(value)) };
  const count = { labelFormatter: (value: string | number | null) => String(Math.round(Number(value))), integersOnly: true };
  const duration = { labelFormatter: (value: string | number | null) => formatDuration(Number(value)) };
  const hasLatency = activity.latencyP50.some((v) => v !== null);
  return (
    <PolarisVizProvider defaultTheme="Light">
      <InlineGrid columns={3} gap="400">
        <BlockStack gap="200">
          <Text as="h3" variant="headingSm">{CHART_TITLES[0]}</Text>
          <div style={{ height: CHART_HEIGHT }} data-testid="chart-leads">
            <BarChart data={leads} showLegend={false} xAxisOptions={xAxis} yAxisOptions={count} isAnimated={false} />
          </div>
        </BlockStack>
        <BlockStack gap="200">
          <Text as="h3" variant="headingSm">{CHART_TITLES[1]}</Text>
          <div style={{ height: CHART_HEIGHT }} data-testid="chart-deliveries">
            {deliveries.length ? (
              <>
                <div style={{ height: CHART_HEIGHT - LEGEND_HEIGHT }}>
                  <BarChart data={deliveries} type="stacked" showLegend={false} xAxisOptions={xAxis} yAxisOptions={count} isAnimated={false} />
                </div>
                <SeriesLegend series={deliveries} />
              </>
            ) : (
              <Text as="p" tone="subdued">No lead was sent to a destination in these 30 days.</Text>
            )}
          </div>
        </BlockStack>
        <BlockStack gap="200">
          <Text as="h3" variant="headingSm">{CHART_TITLES[2]}</Text>
          <div style={{ height: CHART_HEIGHT }} data-testid="chart-latency">
            {hasLatency ? (
              <LineChart
                data={latency}
                xAxisOptions={xAxis}
                yAxisOptions={duration}
                tooltipOptions={{ valueFormatter: (value) => formatDuration(Number(value)) }}
                isAnimated={false}
              />
            ) : (
              <Text as="p" tone="subdued">No lead was delivered in these 30 days.</Text>
            )}
          </div>
        </BlockStack>
      </InlineGrid>
    </PolarisVizProvider>
  );
}
