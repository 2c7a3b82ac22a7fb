import { AnswerReader, PLAIN_TEXT, TOKEN_TEXT, type HttpRequestPreset, type PresetQuestion } from "./preset-types";

/**
 * HubSpot Forms API, authenticated submission (POST
 * https://api.hsforms.com/submissions/v3/integration/secure/submit/{portalId}/{formGuid}, JSON body with
 * `fields`, `context` and `legalConsentOptions`, a private app token with the `forms` scope as a Bearer
 * token). A form submission creates or updates the contact by email and records the consent, which is
 * what a merchant's HubSpot form would do; only `email` is sent as a field, because every form has it and
 * HubSpot refuses fields the form does not have.
 */

const questions: readonly PresetQuestion[] = [
  {
    id: "portalId", label: "HubSpot account ID", kind: "text", required: true, placeholder: "12345678",
    help: "The number shown next to your account name when you click your account in the top right corner of HubSpot (also called the Hub ID or portal ID).",
  },
  {
    id: "formGuid", label: "Form ID", kind: "text", required: true, placeholder: "78c2891f-ebdd-44c0-bd94-15c012bbbfbf",
    help: "In HubSpot, go to Marketing > Forms and open the form that should receive try-on leads (create a simple one with just an email field if you have none). The form ID is the long code in the address bar, between /editor/ (or /forms/<your account ID>/) and the next /.",
  },
  {
    id: "accessToken", label: "Private app access token", kind: "secret", required: true, placeholder: "pat-na1-…",
    help: "In HubSpot, go to Settings > Integrations > Private Apps, create an app, tick the \"forms\" scope, create it and copy the access token (it starts with pat-). It is stored encrypted and never shown again.",
  },
  {
    id: "subscriptionTypeId", label: "Subscription type ID (optional)", kind: "text", required: false, placeholder: "123456",
    help: "Only if your account uses GDPR consent for marketing emails: Settings > Marketing > Email > Subscription types shows the ID of the subscription the shopper agrees to. Leave it empty otherwise.",
  },
  {
    id: "consentText", label: "Consent text", kind: "text", required: true,
    defaultValue: "I agree to receive marketing emails about products I tried on.",
    help: "The words the shopper agreed to, as your try-on widget shows them. HubSpot keeps them with the consent.",
  },
];

export const hubspotPreset: HttpRequestPreset = {
  id: "hubspot",
  name: "HubSpot",
  summary: "Each lead is submitted to one of your HubSpot forms: the contact is created or updated, with the shopper's consent.",
  setupSteps: [
    "In HubSpot, create (or pick) a form with an email field to receive try-on leads.",
    "Create a private app with the \"forms\" scope and copy its access token.",
    "Fill in your account ID, the form ID and the token here, then check the preview.",
    "Press Send test: a test contact (test@example.com) should appear in the form's submissions.",
  ],
  questions,
  build(answers) {
    const read = new AnswerReader(questions, answers);
    const portalId = read.get("portalId", /^\d{1,12}$/, "The account ID is a number, such as 12345678");
    const formGuid = read.get("formGuid", /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "The form ID looks like 78c2891f-ebdd-44c0-bd94-15c012bbbfbf");
    const token = read.get("accessToken", TOKEN_TEXT, "Paste the access token exactly as HubSpot shows it, with no spaces");
    const subscriptionTypeId = read.get("subscriptionTypeId", /^\d{1,12}$/, "The subscription type ID is a number");
    const consentText = read.get("consentText", PLAIN_TEXT, "Keep the consent text to one line without { } or %");
    if (read.problems.length > 0) return { ok: false, problems: read.problems };

    const text = JSON.stringify(consentText);
    const communications = subscriptionTypeId
      ? `,\n      "communications": [\n        { "value": {{ consent.given | json }}, "subscriptionTypeId": ${subscriptionTypeId}, "text": ${text} }\n      ]`
      : "";
    const body = `{
  "submittedAt": {{ captured_at | date: "%s" | append: "000" | json }},
  "fields": [
    { "objectTypeId": "0-1", "name": "email", "value": {{ email | json }} }
  ],
  "context": {
    "pageUri": {{ page_url | default: product.url | json }},
    "pageName": {{ product.title | json }}
  },
  "legalConsentOptions": {
    "consent": {
      "consentToProcess": {{ consent.given | json }},
      "text": ${text}${communications}
    }
  }
}`;
    return {
      ok: true,
      definition: {
        method: "POST",
        url: `https://api.hsforms.com/submissions/v3/integration/secure/submit/${portalId}/${formGuid.toLowerCase()}`,
        headers: [{ name: "Authorization", secret: true }],
        bodyEncoding: "json",
        body,
      },
      secretValues: { Authorization: `Bearer ${token}` },
    };
  },
};
