import { AnswerReader, TOKEN_TEXT, type HttpRequestPreset, type PresetQuestion } from "./preset-types";

/**
 * Brevo (formerly Sendinblue) "create a contact" (POST https://api.brevo.com/v3/contacts, the API key in
 * the `api-key` header, JSON body with `email`, `listIds` and `updateEnabled: true` so that an existing
 * contact is updated rather than refused as a duplicate). Shoppers without marketing consent are created
 * as contacts but added to no list.
 */

const questions: readonly PresetQuestion[] = [
  {
    id: "apiKey", label: "API key", kind: "secret", required: true, placeholder: "xkeysib-…",
    help: "In Brevo, open your profile menu > SMTP & API > API keys, click Generate a new API key, name it (for example Try-on leads) and copy it: Brevo shows it only once. It starts with xkeysib-. It is stored encrypted and never shown again.",
  },
  {
    id: "listIds", label: "List IDs", kind: "text", required: true, placeholder: "3, 7",
    help: "In Brevo, go to Contacts > Lists: the ID of each list is the number in the ID column. Enter one or more, separated by commas.",
  },
];

export const brevoPreset: HttpRequestPreset = {
  id: "brevo",
  name: "Brevo",
  summary: "Each lead becomes (or updates) a Brevo contact, added to your lists when the shopper gave consent.",
  setupSteps: [
    "In Brevo, create an API key and copy it.",
    "Note the IDs of the lists the leads should join.",
    "Paste the key and the list IDs here and check the preview.",
    "Press Send test: test@example.com should appear in your contacts (delete it afterwards).",
  ],
  questions,
  build(answers) {
    const read = new AnswerReader(questions, answers);
    const apiKey = read.get("apiKey", TOKEN_TEXT, "Paste the API key exactly as Brevo shows it, with no spaces");
    const listText = read.get("listIds", /^\d{1,9}(\s*,\s*\d{1,9}){0,49}$/, "Enter list IDs as numbers separated by commas, such as 3, 7");
    if (read.problems.length > 0) return { ok: false, problems: read.problems };

    const listIds = [...new Set(listText.split(",").map((id) => Number(id.trim())))];
    const body = `{
  "email": {{ email | json }},
  "updateEnabled": true,
  "listIds": {% if consent.given %}${JSON.stringify(listIds)}{% else %}[]{% endif %}
}`;
    return {
      ok: true,
      definition: {
        method: "POST",
        url: "https://api.brevo.com/v3/contacts",
        headers: [
          { name: "api-key", secret: true },
          { name: "Accept", secret: false, value: "application/json" },
        ],
        bodyEncoding: "json",
        body,
      },
      secretValues: { "api-key": apiKey },
    };
  },
};
