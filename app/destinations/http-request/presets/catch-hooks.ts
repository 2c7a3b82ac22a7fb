import type { HeaderDefinition, SecretHeaderValues } from "../definition";
import { headerNameProblem } from "../header-rules";
import { AnswerReader, parseHttpsUrl, TOKEN_TEXT, type HttpRequestPreset, type PresetQuestion } from "./preset-types";

/**
 * No-code automation tools that start a workflow from a "catch hook" URL: Zapier (Webhooks by Zapier,
 * Catch Hook), Make (Webhooks, Custom webhook, optionally protected by an API key in `x-make-apikey`) and
 * n8n (Webhook node, optionally protected by Header Auth). Each gets the lead as plain JSON, the same
 * fields as the signed webhook, so the tool's field picker shows every field after one test.
 */

/** The lead as the webhook body carries it. */
const LEAD_JSON = "{{ lead | json }}";

function catchHook(
  id: "zapier" | "make" | "n8n",
  text: { name: string; summary: string; setupSteps: string[]; urlHelp: string; urlPlaceholder: string },
  urlRule: { pattern: RegExp; message: string },
  auth: { questions: PresetQuestion[]; header: (read: AnswerReader) => { name: string; value: string } | undefined },
): HttpRequestPreset {
  const questions: PresetQuestion[] = [
    { id: "hookUrl", label: `${text.name} webhook URL`, kind: "url", required: true, placeholder: text.urlPlaceholder, help: text.urlHelp },
    ...auth.questions,
  ];
  return {
    id,
    name: text.name,
    summary: text.summary,
    setupSteps: text.setupSteps,
    questions,
    build(answers) {
      const read = new AnswerReader(questions, answers);
      const hookText = read.get("hookUrl", urlRule.pattern, urlRule.message);
      const url = hookText ? parseHttpsUrl(hookText) : undefined;
      if (hookText && !url) read.problems.push({ question: "hookUrl", message: `The ${text.name} webhook URL is not valid` });
      const header = auth.header(read);
      if (read.problems.length > 0 || !url) return { ok: false, problems: read.problems };
      const headers: HeaderDefinition[] = header ? [{ name: header.name, secret: true }] : [];
      const secretValues: SecretHeaderValues = header ? { [header.name]: header.value } : {};
      return { ok: true, definition: { method: "POST", url: url.href, headers, bodyEncoding: "json", body: LEAD_JSON }, secretValues };
    },
  };
}

export const zapierPreset = catchHook(
  "zapier",
  {
    name: "Zapier",
    summary: "Each lead starts your Zap, with every lead field available to its next steps (HubSpot, Sheets, Klaviyo…).",
    setupSteps: [
      "In Zapier, create a Zap. For the trigger choose Webhooks by Zapier, event Catch Hook, and continue.",
      "Copy the webhook URL Zapier shows (it starts with https://hooks.zapier.com/hooks/catch/) and paste it here.",
      "Press Send test here, then Test trigger in Zapier: the test lead's fields appear (email, product, consent…).",
      "Add the steps that use the lead, then publish the Zap.",
    ],
    urlHelp: "Zapier shows it in the trigger step of your Zap (Webhooks by Zapier, Catch Hook).",
    urlPlaceholder: "https://hooks.zapier.com/hooks/catch/123456/abcdef/",
  },
  { pattern: /^https:\/\/hooks\.zapier\.com\/hooks\/catch\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/?$/, message: "A Zapier catch hook URL starts with https://hooks.zapier.com/hooks/catch/" },
  { questions: [], header: () => undefined },
);

export const makePreset = catchHook(
  "make",
  {
    name: "Make",
    summary: "Each lead starts your Make scenario, with every lead field available to its next modules.",
    setupSteps: [
      "In Make, create a scenario and add the Webhooks module Custom webhook. Click Add to create a webhook.",
      "Optionally add an API key to the webhook (API Key authentication) and enter the same key here.",
      "Copy the webhook address Make shows and paste it here.",
      "In Make, click Run once; then press Send test here: Make learns the lead's fields from the test.",
      "Add the modules that use the lead and turn the scenario on.",
    ],
    urlHelp: "Make shows it under the Custom webhook module (it starts with https://hook. and ends with make.com/ and a code).",
    urlPlaceholder: "https://hook.eu1.make.com/abcdefghijklmnop",
  },
  { pattern: /^https:\/\/hook\.[a-z0-9]+\.make\.com\/[A-Za-z0-9_-]+$/, message: "A Make webhook URL looks like https://hook.eu1.make.com/ followed by a code" },
  {
    questions: [{
      id: "apiKey", label: "Webhook API key (optional)", kind: "secret", required: false,
      help: "Only if you added API Key authentication to the webhook in Make: the same key. It is sent in the x-make-apikey header.",
    }],
    header: (read) => {
      const value = read.get("apiKey", TOKEN_TEXT, "Paste the API key exactly as you entered it in Make, with no spaces");
      return value ? { name: "x-make-apikey", value } : undefined;
    },
  },
);

export const n8nPreset = catchHook(
  "n8n",
  {
    name: "n8n",
    summary: "Each lead starts your n8n workflow, with every lead field available to its next nodes.",
    setupSteps: [
      "In n8n, create a workflow that starts with a Webhook node. Set its HTTP method to POST.",
      "Optionally set Authentication to Header Auth and create a credential (a header name and a value); enter the same name and value here.",
      "Copy the node's Production URL (not the Test URL) and paste it here.",
      "Activate the workflow, then press Send test here: the test lead appears in the workflow's executions.",
    ],
    urlHelp: "The Webhook node shows a Test URL and a Production URL: use the Production URL (it contains /webhook/).",
    urlPlaceholder: "https://your-n8n.example.com/webhook/tryon-leads",
  },
  { pattern: /^https:\/\/[^/\s{}]+\/(?:[^\s{}]*\/)?webhook\/[^\s{}]+$/, message: "Use the Production URL of the Webhook node: it starts with https:// and contains /webhook/" },
  {
    questions: [
      {
        id: "headerName", label: "Header Auth name (optional)", kind: "text", required: false, placeholder: "X-Api-Key",
        help: "Only if the Webhook node uses Header Auth: the header name from its credential.",
      },
      {
        id: "headerValue", label: "Header Auth value (optional)", kind: "secret", required: false,
        help: "Only if the Webhook node uses Header Auth: the value from its credential.",
      },
    ],
    header: (read) => {
      const name = read.get("headerName", /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/, "A header name uses letters, digits and - only, with no spaces");
      const value = read.get("headerValue", /^[\x20-\x7e]{1,4096}$/, "The header value must be plain text on one line");
      if (!name && !value) return undefined;
      if (!name || !value) {
        read.problems.push({ question: name ? "headerValue" : "headerName", message: "Enter both the header name and its value, or neither" });
        return undefined;
      }
      const problem = headerNameProblem(name);
      if (problem) read.problems.push({ question: "headerName", message: problem });
      return { name, value };
    },
  },
);
