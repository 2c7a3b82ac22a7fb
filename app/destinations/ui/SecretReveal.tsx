import { Banner, BlockStack, Button, InlineStack, Text } from "@shopify/polaris";
import { useEffect, useState } from "react";
import type { NewDestinationActionData, WebhookActionData } from "./action-data";

/**
 * The signing secret, right after connect or rotate: the one time it is ever shown. It lives only in this
 * action's answer; reloading the page or coming back later shows nothing.
 */
export function SecretReveal({ actionData }: { actionData: WebhookActionData | NewDestinationActionData | undefined }) {
  const secret = actionData && "secret" in actionData && typeof actionData.secret === "string" ? actionData.secret : null;
  const [hidden, setHidden] = useState(false);
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    setHidden(false);
    setCopied("idle");
  }, [secret]);
  if (!secret || hidden) return null;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };
  const overlapUntil = actionData?.intent === "rotate" && "previousSecretUntil" in actionData ? (actionData.previousSecretUntil as string | null) : null;
  return (
    <Banner tone="warning" title="Copy your signing secret now. It will not be shown again.">
      <BlockStack gap="300">
        <Text as="p">
          {actionData?.intent === "rotate"
            ? overlapUntil
              ? "Your new signing secret. Until the overlap ends, every webhook carries a signature with the old secret and one with the new, so update your receiver before then."
              : "Your new signing secret. The old secret no longer signs webhooks: update your receiver now."
            : "Paste it into your receiver to verify that webhooks come from this app."}
        </Text>
        <div
          data-testid="signing-secret"
          style={{ fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", wordBreak: "break-all", padding: "8px 12px", background: "#fff", border: "1px solid #d0d0d0", borderRadius: 8 }}
        >
          {secret}
        </div>
        <InlineStack gap="200" blockAlign="center">
          <Button variant="primary" onClick={copy}>Copy secret</Button>
          <Button onClick={() => setHidden(true)}>I have stored it</Button>
          {copied === "copied" ? <Text as="span" tone="success">Copied to the clipboard.</Text> : null}
          {copied === "failed" ? <Text as="span" tone="critical">Copying was blocked; select the secret and copy it by hand.</Text> : null}
        </InlineStack>
      </BlockStack>
    </Banner>
  );
}
