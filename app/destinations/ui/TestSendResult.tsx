import { Banner, BlockStack, Text } from "@shopify/polaris";
import type { TestSendResult } from "../test-send.server";

/** The test webhook's outcome, in the words the delivery log also uses. */
export function TestSendResultBanner({ result, noun = "test webhook", receiver = "Your endpoint" }: { result: TestSendResult; noun?: string; receiver?: string }) {
  if (result.outcome === "delivered") {
    return (
      <Banner tone="success" title={`Delivered in ${result.durationMs} ms`}>
        <Text as="p">{receiver} answered HTTP {result.statusCode}. The test is in the delivery log below.</Text>
      </Banner>
    );
  }
  if (result.outcome === "still_sending") {
    return <Banner tone="info" title="Still sending">{result.message}</Banner>;
  }
  return (
    <Banner tone="critical" title={`The ${noun} was not delivered`}>
      <BlockStack gap="200">
        <Text as="p">{result.message}{/[.!?]$/.test(result.message) ? "" : "."}</Text>
        {result.statusCode ? <Text as="p" tone="subdued">HTTP status: {result.statusCode}</Text> : null}
        {result.responseExcerpt ? (
          <Text as="p" tone="subdued">
            {receiver} said: <code>{result.responseExcerpt.slice(0, 200)}</code>
          </Text>
        ) : null}
      </BlockStack>
    </Banner>
  );
}
