import { BlockStack, Card, List, Tabs, Text } from "@shopify/polaris";
import { useState } from "react";
import type { NoCodeGuide as Guide } from "../receiver-guide.server";

/** Receiving leads without a developer: set-up steps per automation tool, and the three signature pitfalls. */
export function NoCodeGuide({ guide }: { guide: Guide }) {
  const [selected, setSelected] = useState(0);
  const tool = guide.tools[selected];
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Receiving leads in Zapier, Make, n8n or Node-RED</Text>
        <Text as="p">{guide.intro}</Text>
        <Tabs tabs={guide.tools.map((t) => ({ id: `no-code-${t.id}`, content: t.name }))} selected={selected} onSelect={setSelected} />
        <div data-testid={`no-code-${tool.id}`}>
          <BlockStack gap="200">
            <List type="number">{tool.steps.map((step) => <List.Item key={step}>{step}</List.Item>)}</List>
            <Text as="p"><strong>Making sure it comes from this app:</strong> {tool.verify}</Text>
          </BlockStack>
        </div>
        <Text as="h3" variant="headingSm">Checking signatures: three things that trip people up</Text>
        <List type="number">
          {guide.pitfalls.map((p) => (
            <List.Item key={p.title}><strong>{p.title}.</strong> {p.detail}</List.Item>
          ))}
        </List>
      </BlockStack>
    </Card>
  );
}
