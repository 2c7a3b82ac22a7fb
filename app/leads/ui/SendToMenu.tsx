import { memo, useState } from "react";
import { ActionList, Button, Popover } from "@shopify/polaris";
import { useAppBridge } from "@shopify/app-bridge-react";

/**
 * "Send to…" on a lead's row: the shop's live destinations in a small menu; choosing one sends that lead
 * there now and says what happened in a toast (queued, sent again, or already on its way).
 *
 * A page shows fifty of these: each is a plain button until opened (the popover is made only then), and it
 * renders again only when its lead or the destinations change, so moving between pages stays cheap.
 */
export const SendToMenu = memo(function SendToMenu({ leadId, destinations }: { leadId: string; destinations: { id: string; name: string }[] }) {
  const shopify = useAppBridge();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  if (destinations.length === 0) return null;

  const send = async (destinationId: string) => {
    setOpen(false);
    setBusy(true);
    try {
      // A plain fetch to the resource route: App Bridge adds the session token, and the answer's status is its own.
      const response = await fetch(`/app/leads/${encodeURIComponent(leadId)}/send`, {
        method: "POST",
        body: new URLSearchParams({ destinationId }),
      });
      const answer = (await response.json().catch(() => ({}))) as { message?: string; error?: { message?: string } };
      if (!response.ok || !answer.message) throw new Error(answer.error?.message ?? "The lead could not be sent; try again.");
      shopify.toast.show(answer.message);
    } catch (error) {
      shopify.toast.show(error instanceof Error ? error.message : "The lead could not be sent; try again.", { isError: true });
    } finally {
      setBusy(false);
    }
  };

  const button = (
    <Button size="slim" variant="tertiary" disclosure loading={busy} onClick={() => setOpen((o) => !o)} accessibilityLabel="Send this lead to a destination">
      Send to…
    </Button>
  );
  if (!open) return button;
  return (
    <Popover active onClose={() => setOpen(false)} activator={button}>
      <ActionList
        actionRole="menuitem"
        items={destinations.map((d) => ({ content: d.name, onAction: () => void send(d.id) }))}
      />
    </Popover>
  );
});
