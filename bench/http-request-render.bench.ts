/**
 * The rendering cost of an HTTP-request destination per delivery, for each preset, against what a signed
 * webhook costs at the same point: JSON.stringify of the lead body, measured in the same run.
 *
 *  baseline    JSON.stringify(body) of the sample lead (the webhook serialises its body once per lead)
 *  render      buildTemplateFields + renderHttpRequest (every template of the definition rendered, every
 *              rendered part checked: URL origin, header values, JSON or form body), templates parsed once
 *              and cached, as a worker renders the same destination for lead after lead
 *  cold        the same with a template not seen before (parse + render), as for the first lead after a
 *              definition changed
 *
 * Each figure is the median over rounds of many renders, rounds alternating between the cases so that a
 * change in the machine's speed during the run weighs on all alike. Prints a table; exits 0.
 *
 *   npm run bench:http-request
 *   --renders=20000   renders per round       --rounds=7   rounds per case
 */
import { buildLeadCapturedBody, type LeadBodySource } from "../app/delivery/payload";
import {
  buildPreset, buildTemplateFields, HTTP_REQUEST_PRESETS, renderHttpRequest, SAMPLE_LEAD_BODY,
  type HttpRequestDefinition, type SecretHeaderValues,
} from "../app/destinations/http-request";

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v] as const;
}));
const RENDERS = Number(args.get("renders") ?? 20_000);
const ROUNDS = Number(args.get("rounds") ?? 7);
const COLD_RENDERS = Math.max(200, Math.floor(RENDERS / 20));

const ANSWERS: Record<string, Record<string, string>> = {
  hubspot: { portalId: "24681357", formGuid: "78c2891f-ebdd-44c0-bd94-15c012bbbfbf", accessToken: "pat-na1-0a1b2c3d-4e5f-6789-abcd-ef0123456789", subscriptionTypeId: "11223344" },
  mailchimp: { apiKey: "0123456789abcdef0123456789abcdef-us21", listId: "a1b2c3d4e5" },
  brevo: { apiKey: "xkeysib-0123456789abcdef0123456789abcdef-AbCdEfGh", listIds: "3, 7" },
  slack: { webhookUrl: "https://hooks.slack.com/services/T0ABCDEF/B0GHIJKL/abcdefghijklmnopqrstuvwx" },
  zapier: { hookUrl: "https://hooks.zapier.com/hooks/catch/123456/abcdef/" },
  make: { hookUrl: "https://hook.eu1.make.com/abcdefghijklmnop1234", apiKey: "make-key-0123456789" },
  n8n: { hookUrl: "https://n8n.example-shop.com/webhook/tryon-leads", headerName: "X-Shop-Key", headerValue: "s3cret value" },
};

/** A few different leads, so no step can coast on one value. */
const bodies = Array.from({ length: 16 }, (_, i) => {
  const source: LeadBodySource = {
    id: `cm9lead${String(i).padStart(6, "0")}abcdefghijkl`, email: `Shopper.${i}+tryon@Example.com`,
    productId: `gid://shopify/Product/${1000 + i}`, productTitle: `Aviator Sunglasses ${i}`,
    productUrl: `https://demo-store.myshopify.com/products/aviator-${i}`, variantId: `gid://shopify/ProductVariant/${2000 + i}`,
    variantTitle: "Gold / Green lens", resultContext: JSON.stringify({ vendor: "acme-tryon", look_id: `look_${i}` }),
    tagged: i % 2 === 0, consent: i % 3 !== 0, capturedAt: new Date(Date.UTC(2025, 2, 14, 9, i)),
    utmSource: "instagram", utmMedium: "social", utmCampaign: "spring-sale", utmTerm: null, utmContent: null,
    pageUrl: `https://demo-store.myshopify.com/products/aviator-${i}`,
  };
  return buildLeadCapturedBody(source, "demo-store.myshopify.com");
});

let sink = 0;

/** Microseconds per call of `fn`, over `count` calls. */
function timeOf(count: number, fn: (i: number) => number): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) sink += fn(i);
  return ((performance.now() - started) * 1000) / count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Case {
  name: string;
  warm: (i: number) => number;
  cold?: (i: number) => number;
}

function presetCase(id: string): Case {
  const built = buildPreset(id, ANSWERS[id]);
  if (!built.ok) throw new Error(`preset ${id} did not build: ${JSON.stringify(built.problems)}`);
  const { definition, secretValues }: { definition: HttpRequestDefinition; secretValues: SecretHeaderValues } = built;
  const render = (d: HttpRequestDefinition, i: number) => {
    const fields = buildTemplateFields({ body: bodies[i % bodies.length], deliveryId: `cm9dlv${String(i).padStart(19, "0")}` });
    return (renderHttpRequest(d, fields, secretValues).body as string).length;
  };
  let coldSerial = 0;
  return {
    name: id,
    warm: (i) => render(definition, i),
    // A body never parsed before: a comment that changes every time defeats the parse cache.
    cold: (i) => render({ ...definition, body: `${definition.body}{% comment %}${coldSerial++}{% endcomment %}` }, i),
  };
}

const baseline: Case = { name: "JSON.stringify(body)", warm: (i) => JSON.stringify(bodies[i % bodies.length]).length };
const cases = [baseline, ...HTTP_REQUEST_PRESETS.map((p) => presetCase(p.id))];

// Warm-up: JIT and template cache.
for (const c of cases) {
  timeOf(2_000, c.warm);
  if (c.cold) timeOf(50, c.cold);
}

const warm = new Map<string, number[]>();
const cold = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? cases : [...cases].reverse();
  for (const c of order) {
    warm.set(c.name, [...(warm.get(c.name) ?? []), timeOf(RENDERS, c.warm)]);
    if (c.cold) cold.set(c.name, [...(cold.get(c.name) ?? []), timeOf(COLD_RENDERS, c.cold)]);
  }
}

const base = median(warm.get(baseline.name)!);
const pad = (text: string, width: number) => text.padEnd(width);
const num = (value: number, width: number, digits = 1) => value.toFixed(digits).padStart(width);
console.log(`HTTP-request rendering cost per delivery (Node ${process.version}; median of ${ROUNDS} rounds; ${RENDERS} renders per round, ${COLD_RENDERS} cold)`);
console.log(`lead body: ${JSON.stringify(SAMPLE_LEAD_BODY).length} bytes of JSON\n`);
console.log(`${pad("case", 22)}${"µs/render".padStart(11)}${"× baseline".padStart(12)}${"cold µs".padStart(10)}`);
for (const c of cases) {
  const w = median(warm.get(c.name)!);
  const coldFigure = cold.has(c.name) ? num(median(cold.get(c.name)!), 10) : "".padStart(10);
  console.log(`${pad(c.name, 22)}${num(w, 11, 2)}${num(w / base, 12)}${coldFigure}`);
}
console.log(`\n(checksum ${sink % 1000})`);
