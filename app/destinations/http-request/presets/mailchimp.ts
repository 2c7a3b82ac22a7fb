import { AnswerReader, type HttpRequestPreset, type PresetQuestion } from "./preset-types";

/**
 * Mailchimp Marketing API, "add or update list member" (PUT
 * https://<dc>.api.mailchimp.com/3.0/lists/{list_id}/members/{subscriber_hash}, where the subscriber hash
 * is the MD5 of the lower-cased email; HTTP Basic auth with any user name and the API key as password;
 * the data centre <dc> is the part of the key after the dash). `status_if_new` applies only when the
 * member is new, so a shopper who unsubscribed earlier is never subscribed again by a try-on.
 */

const questions: readonly PresetQuestion[] = [
  {
    id: "apiKey", label: "API key", kind: "secret", required: true, placeholder: "0123456789abcdef0123456789abcdef-us21",
    help: "In Mailchimp, open your profile menu > Account & billing > Extras > API keys, click Create A Key, name it (for example Try-on leads) and copy it at once: Mailchimp shows it only once. It ends with a dash and your data centre, such as -us21. It is stored encrypted and never shown again.",
  },
  {
    id: "listId", label: "Audience ID", kind: "text", required: true, placeholder: "a1b2c3d4e5",
    help: "In Mailchimp, go to Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there (a short code of letters and digits).",
  },
  {
    id: "doubleOptIn", label: "New subscribers confirm by email", kind: "choice", required: true, defaultValue: "no",
    choices: [
      { value: "no", label: "No: shoppers who gave consent are subscribed at once" },
      { value: "yes", label: "Yes: Mailchimp emails them a confirmation link first (double opt-in)" },
    ],
    help: "Shoppers who did not give marketing consent are added as transactional contacts (they receive no campaigns) in both cases.",
  },
];

export const mailchimpPreset: HttpRequestPreset = {
  id: "mailchimp",
  name: "Mailchimp",
  summary: "Each lead is added to (or updated in) one of your Mailchimp audiences, subscribed only if the shopper gave consent.",
  setupSteps: [
    "In Mailchimp, create an API key and copy it.",
    "Find the ID of the audience the leads should join.",
    "Paste the key and the audience ID here, choose whether new subscribers confirm by email, and check the preview.",
    "Press Send test: test@example.com should appear in the audience (archive it afterwards).",
  ],
  questions,
  build(answers) {
    const read = new AnswerReader(questions, answers);
    const apiKey = read.get("apiKey", /^[0-9a-f]{32}-[a-z]{2,4}\d{1,3}$/, "A Mailchimp API key is 32 letters and digits, a dash and the data centre, such as …-us21");
    const listId = read.get("listId", /^[A-Za-z0-9]{1,32}$/, "The audience ID is a short code of letters and digits, such as a1b2c3d4e5");
    const doubleOptIn = read.get("doubleOptIn", /^(yes|no)$/, "Choose yes or no");
    if (read.problems.length > 0) return { ok: false, problems: read.problems };

    const dataCentre = apiKey.slice(apiKey.lastIndexOf("-") + 1);
    const subscribed = doubleOptIn === "yes" ? "pending" : "subscribed";
    const body = `{
  "email_address": {{ email | json }},
  "status_if_new": {% if consent.given %}"${subscribed}"{% else %}"transactional"{% endif %}
}`;
    return {
      ok: true,
      definition: {
        method: "PUT",
        url: `https://${dataCentre}.api.mailchimp.com/3.0/lists/${listId}/members/{{ email | downcase | md5 }}`,
        headers: [{ name: "Authorization", secret: true }],
        bodyEncoding: "json",
        body,
      },
      // Mailchimp ignores the user name; it names the app in Mailchimp's logs. btoa (not Buffer) so that the
      // admin page can build the preset in the browser; the key is plain ASCII, as its pattern requires.
      secretValues: { Authorization: `Basic ${btoa(`tryonleads:${apiKey}`)}` },
    };
  },
};
