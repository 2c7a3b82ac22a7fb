import { AnswerReader, parseHttpsUrl, type HttpRequestPreset, type PresetQuestion } from "./preset-types";

/**
 * Slack incoming webhook (POST the JSON `{"text": ...}` to the webhook URL Slack gives; Slack answers
 * 200 "ok"). The message uses Slack's mrkdwn; every value from the lead goes through `slack_escape`,
 * because the storefront's text (UTM values) must not be able to ping a channel with `<!channel>`.
 */

const questions: readonly PresetQuestion[] = [
  {
    id: "webhookUrl", label: "Slack webhook URL", kind: "url", required: true, placeholder: "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX",
    help: "In Slack, create an app at api.slack.com/apps (From scratch), open Incoming Webhooks, turn them on, click Add New Webhook to Workspace and pick the channel. Copy the webhook URL it shows. Anyone with this URL can post to the channel, so keep it private.",
  },
];

const MESSAGE = `{%- capture message -%}
:sparkles: *New try-on lead* on {{ shop | slack_escape }}{% if test %} (test){% endif %}
*Email:* {{ email | slack_escape }}
*Tried on:* <{{ product.url | slack_escape }}|{{ product.title | slack_escape }}>{% if product.variant %} ({{ product.variant.title | slack_escape }}){% endif %}
*Marketing consent:* {% if consent.given %}yes{% else %}no{% endif %}
{%- if utm.source %}
*From:* {{ utm.source | slack_escape }}{% if utm.campaign %} / {{ utm.campaign | slack_escape }}{% endif %}
{%- endif %}
*When:* {{ captured_at | date: "%Y-%m-%d %H:%M UTC" }}
{%- endcapture -%}
{"text": {{ message | json }}}`;

export const slackPreset: HttpRequestPreset = {
  id: "slack",
  name: "Slack",
  summary: "Each lead is posted as a short, readable message in a Slack channel.",
  setupSteps: [
    "In Slack, create an app with an incoming webhook for the channel the team watches.",
    "Paste the webhook URL here and check the preview of the message.",
    "Press Send test: a message marked (test) should appear in the channel.",
  ],
  questions,
  build(answers) {
    const read = new AnswerReader(questions, answers);
    const text = read.get("webhookUrl", /^https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/?$/, "A Slack webhook URL starts with https://hooks.slack.com/services/ followed by three codes separated by /");
    const url = text ? parseHttpsUrl(text) : undefined;
    if (text && !url) read.problems.push({ question: "webhookUrl", message: "The Slack webhook URL is not valid" });
    if (read.problems.length > 0 || !url) return { ok: false, problems: read.problems };
    return {
      ok: true,
      definition: { method: "POST", url: url.href, headers: [], bodyEncoding: "json", body: MESSAGE },
      secretValues: {},
    };
  },
};
