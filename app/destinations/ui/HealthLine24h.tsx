import { Text } from "@shopify/polaris";

/**
 * A destination's last 24 hours in one line (see destinationHealth24h): shown in red when fewer than
 * nine in ten leads got through.
 */
export function HealthLine24h({ health }: { health: { line: string; deliveredShare: number | null } }) {
  const poor = health.deliveredShare !== null && health.deliveredShare < 0.9;
  return (
    <Text as="p" tone={poor ? "critical" : "subdued"}>
      {health.line}
    </Text>
  );
}
