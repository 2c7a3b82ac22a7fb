import { BlockStack, Button, Card, InlineStack, List, Tabs, Text } from "@shopify/polaris";
import { useState } from "react";
import type { ReceiverGuide } from "../receiver-guide.server";
import { NoCodeGuide } from "./NoCodeGuide";

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" };

/** How to verify our webhooks on the receiving side: headers, the five steps, and code in four languages. */
export function ReceiverHelp({ guide, shopDomain }: { guide: ReceiverGuide; shopDomain: string }) {
  const [selected, setSelected] = useState(0);
  const [copied, setCopied] = useState<string | null>(null);
  const snippet = guide.snippets[selected];
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(snippet.code);
      setCopied(snippet.id);
    } catch {
      setCopied(null);
    }
  };
  return (
    <BlockStack gap="400">
      <Card>
        <BlockStack gap="400">
          <Text as="h2" variant="headingMd">Verifying webhooks on your receiver</Text>
          <Text as="p">Each webhook is a POST with a JSON body and these headers (shop: {shopDomain}):</Text>
          <List type="bullet">
            {guide.headers.map((h) => (
              <List.Item key={h.name}><span style={mono}>{h.name}</span>: {h.meaning}</List.Item>
            ))}
          </List>
          <Text as="p">
            The same request also carries the Standard Webhooks headers, so any Standard Webhooks library (for example the
            standardwebhooks or svix packages) verifies it with the same secret string:
          </Text>
          <List type="bullet">
            {guide.standardHeaders.map((h) => (
              <List.Item key={h.name}><span style={mono}>{h.name}</span>: {h.meaning}</List.Item>
            ))}
          </List>
          <Text as="h3" variant="headingSm">Five steps</Text>
          <List type="number">
            {guide.steps.map((step) => <List.Item key={step}>{step}</List.Item>)}
          </List>
          <Tabs
            tabs={guide.snippets.map((s) => ({ id: `snippet-${s.id}`, content: s.label }))}
            selected={selected}
            onSelect={setSelected}
          />
          <pre
            data-testid={`snippet-${snippet.id}`}
            style={{ ...mono, fontSize: 12, margin: 0, padding: 12, background: "#f6f6f7", borderRadius: 8, overflowX: "auto" }}
          >
            {snippet.code}
          </pre>
          <InlineStack gap="200" blockAlign="center">
            <Button onClick={copy}>{`Copy ${snippet.label} code`}</Button>
            {copied === snippet.id ? <Text as="span" tone="success">Copied.</Text> : null}
          </InlineStack>
        </BlockStack>
      </Card>
      <NoCodeGuide guide={guide.noCode} />
    </BlockStack>
  );
}
