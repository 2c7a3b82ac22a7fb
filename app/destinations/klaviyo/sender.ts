import type { DestinationSender } from "../../delivery/destination-sender";
import type { LeadCapturedBody, TestBody } from "../../delivery/payload";
import type { AttemptFailure } from "../../delivery/types";
import type { ProfileErasureBody } from "../../compliance/redaction-event";
import { requestKlaviyoProfileDeletion, sendLeadToKlaviyo } from "./deliver";
import { parseKlaviyoCredentials, parseKlaviyoSettings } from "./destination";
import type { KlaviyoExchange } from "./klaviyo-api";

/**
 * How the worker sends to a Klaviyo destination: a lead becomes a "Try-On Lead" event (and, with consent and a
 * chosen list, a subscription); an erasure asks Klaviyo to delete the profile. The base URL is fixed in code;
 * `exchange` is the production sender's (tests pass one that reaches their stand-in).
 */
export function createKlaviyoSender(exchange: KlaviyoExchange): DestinationSender {
  return async (context) => {
    const credentials = parseKlaviyoCredentials(context.credentials);
    if (!credentials) return missingKey();
    const settings = parseKlaviyoSettings(context.settings);
    if (context.event === "lead_redacted") {
      const erasure = (context.payload ? JSON.parse(context.payload) : {}) as Partial<ProfileErasureBody>;
      // Emptied once Klaviyo accepted it: nothing is left to send.
      if (typeof erasure.email !== "string") return { ok: true, statusCode: 202, durationMs: 0, address: "", responseExcerpt: "" };
      return requestKlaviyoProfileDeletion({ apiKey: credentials.apiKey, exchange, email: erasure.email });
    }
    const lead = JSON.parse(context.payload) as LeadCapturedBody | TestBody;
    return sendLeadToKlaviyo({
      apiKey: credentials.apiKey, exchange, lead, deliveryId: context.deliveryId,
      metricName: settings.metricName, listId: settings.listId, backfill: context.backfill,
    });
  };
}

function missingKey(): AttemptFailure {
  return {
    ok: false, errorCode: "credentials_rejected", durationMs: 0,
    message: "No Klaviyo key is stored for this destination. Paste your private API key again.",
  };
}
