import { DEFAULT_METRIC_NAME } from "./requests";

/**
 * A Klaviyo destination's stored settings (not secret: the event's name, the list consenting shoppers join)
 * and credentials (the private API key, stored encrypted), as JSON.
 */
export interface KlaviyoSettings {
  metricName: string;
  /** The list consenting shoppers are subscribed to; none for events only. */
  listId: string | null;
  /** The list's name when it was chosen, to show without asking Klaviyo. */
  listName: string | null;
  /** The Klaviyo account the key opened when it was saved. */
  accountName: string | null;
}

export interface KlaviyoCredentials {
  apiKey: string;
}

export function parseKlaviyoSettings(stored: string | null): KlaviyoSettings {
  let parsed: Partial<KlaviyoSettings> = {};
  try {
    const value: unknown = JSON.parse(stored ?? "{}");
    if (value && typeof value === "object") parsed = value as Partial<KlaviyoSettings>;
  } catch {
    // an unreadable setting falls back to the defaults below
  }
  return {
    metricName: typeof parsed.metricName === "string" && parsed.metricName ? parsed.metricName : DEFAULT_METRIC_NAME,
    listId: typeof parsed.listId === "string" && parsed.listId ? parsed.listId : null,
    listName: typeof parsed.listName === "string" ? parsed.listName : null,
    accountName: typeof parsed.accountName === "string" ? parsed.accountName : null,
  };
}

export function serializeKlaviyoSettings(settings: KlaviyoSettings): string {
  return JSON.stringify(settings);
}

/** The decrypted credentials; null when they are missing or unreadable. */
export function parseKlaviyoCredentials(decrypted: string | null): KlaviyoCredentials | null {
  try {
    const value = JSON.parse(decrypted ?? "null") as { apiKey?: unknown } | null;
    return value && typeof value.apiKey === "string" && value.apiKey ? { apiKey: value.apiKey } : null;
  } catch {
    return null;
  }
}
