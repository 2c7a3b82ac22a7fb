import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { useFetcher, useLoaderData } from "@remix-run/react";
import { Banner, BlockStack, Button, Card, Checkbox, InlineStack, Layout, Page, Text, TextField } from "@shopify/polaris";
import { useState } from "react";
import { adminGraphqlFor } from "../customers/admin-graphql.server";
import { AlertSettingsInputError, getAlertSettings, parseAlertSettingsForm, refreshOwnerEmail, saveAlertSettings } from "../alerts/alert-settings.server";
import { readAdminForm } from "../lib/admin-input.server";
import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { smtpServerOf } from "../lib/mailer.server";
import { requireAdminShop } from "../shops/admin.server";

// Settings: email alerts about destinations that stop receiving leads (on or off, and where to), and whether
// this app's server can send email at all. The shop comes from the session token only.

export const loader = async ({ request }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const db = getDb();
  const config = getConfig();
  // The store's email as Shopify has it (read at most once a day), shown as the default address.
  await refreshOwnerEmail(db, shop.id, () => adminGraphqlFor(shop.domain));
  const settings = await getAlertSettings(db, shop.id);
  return {
    alerts: settings,
    // Whether email can be sent at all: never the server's credentials, only the sender merchants will see.
    mail: smtpServerOf(config) ? { configured: true as const, from: config.MAIL_FROM ?? null } : { configured: false as const, from: null },
    failingAfterMinutes: config.ALERT_FAILING_AFTER_MINUTES,
    quietHours: config.ALERT_QUIET_HOURS,
  };
};

export type SettingsActionData = { ok: true; alerts: Awaited<ReturnType<typeof getAlertSettings>> } | { error: { field: string; message: string } };

export const action = async ({ request }: ActionFunctionArgs) => {
  if (request.method !== "POST") return data<SettingsActionData>({ error: { field: "method", message: "Use POST" } }, { status: 405 });
  const { shop } = await requireAdminShop(request);
  const form = await readAdminForm(request);
  try {
    const parsed = parseAlertSettingsForm(form);
    const alerts = await saveAlertSettings(getDb(), shop.id, parsed);
    return data<SettingsActionData>({ ok: true, alerts });
  } catch (error) {
    if (error instanceof AlertSettingsInputError) {
      return data<SettingsActionData>({ error: { field: error.field, message: error.message } }, { status: error.status });
    }
    throw error;
  }
};

function minutesInWords(minutes: number): string {
  if (minutes % 60 === 0) return minutes === 60 ? "an hour" : `${minutes / 60} hours`;
  return minutes === 1 ? "a minute" : `${minutes} minutes`;
}

function AlertSettingsForm() {
  const { alerts, failingAfterMinutes, quietHours } = useLoaderData<typeof loader>();
  const fetcher = useFetcher<SettingsActionData>();
  const [enabled, setEnabled] = useState(alerts.enabled);
  const [email, setEmail] = useState(alerts.email ?? "");
  const answer = fetcher.data;
  const error = answer && "error" in answer ? answer.error : null;
  const saved = answer && "ok" in answer && fetcher.state === "idle";
  const store = alerts.ownerEmail ? `your store's email (${alerts.ownerEmail})` : "your store's email in Shopify";
  return (
    <BlockStack gap="300">
      <Checkbox
        label="Email me when leads stop reaching a destination"
        checked={enabled}
        onChange={setEnabled}
        helpText={
          `One email when a destination has been failing for ${minutesInWords(failingAfterMinutes)}, or at once when it ` +
          `refuses the leads for good (an address that is gone, a rejected key); one more when it receives leads again. At most one alert per destination ` +
          `every ${quietHours} hours. Alerts never contain your shoppers' details.`
        }
      />
      <TextField
        label="Send alerts to"
        type="email"
        autoComplete="email"
        value={email}
        onChange={setEmail}
        disabled={!enabled}
        placeholder={alerts.ownerEmail ?? "you@example.com"}
        helpText={`Leave empty to use ${store}.`}
        error={error?.field === "email" ? error.message : undefined}
      />
      <InlineStack gap="200" blockAlign="center">
        <Button
          variant="primary"
          loading={fetcher.state !== "idle"}
          onClick={() => fetcher.submit({ intent: "save", enabled: String(enabled), email }, { method: "post" })}
        >
          Save
        </Button>
        {saved ? <Text as="span" tone="success">Saved</Text> : null}
        {error && error.field !== "email" ? <Text as="span" tone="critical">{error.message}</Text> : null}
      </InlineStack>
    </BlockStack>
  );
}

export default function SettingsPage() {
  const { mail } = useLoaderData<typeof loader>();
  return (
    <Page title="Settings" backAction={{ content: "Leads", url: "/app/leads" }}>
      <Layout>
        <Layout.Section>
          <Card>
            <BlockStack gap="300">
              <Text as="h2" variant="headingMd">Alerts by email</Text>
              {mail.configured ? (
                <Text as="p" tone="subdued">{`Email sending is set up: alerts come from ${mail.from}.`}</Text>
              ) : (
                <Banner tone="warning" title="Email sending is not set up for this app">
                  No alert emails are sent, whatever you choose below: the app's server has no mail server configured.
                  Whoever runs the app can set one up (SMTP_URL and MAIL_FROM). You can still check your destinations
                  in the Leads tab.
                </Banner>
              )}
              <AlertSettingsForm />
            </BlockStack>
          </Card>
        </Layout.Section>
      </Layout>
    </Page>
  );
}
