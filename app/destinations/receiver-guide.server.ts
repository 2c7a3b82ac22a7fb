import {
  DEFAULT_TOLERANCE_SECONDS,
  HEADER_DELIVERY_ID,
  HEADER_EVENT,
  HEADER_SHOP,
  HEADER_SIGNATURE,
  HEADER_STANDARD_ID,
  HEADER_STANDARD_SIGNATURE,
  HEADER_STANDARD_TIMESTAMP,
  HEADER_TIMESTAMP,
} from "../delivery/signing";

/**
 * The receiver help on the webhook page: which headers arrive, the five-step recipe, and verification code for
 * Node, Python, PHP and Ruby written against this app's own header names. The Node snippet is plain Node (no
 * framework) and exports its verify function and handler, so it can be run exactly as shown.
 */

export interface HeaderHelp {
  name: string;
  meaning: string;
}

export interface Snippet {
  id: "node" | "python" | "php" | "ruby";
  label: string;
  code: string;
}

export interface ReceiverGuide {
  headers: HeaderHelp[];
  standardHeaders: HeaderHelp[];
  steps: string[];
  snippets: Snippet[];
  toleranceSeconds: number;
  /** Receiving leads in automation tools, and the signature pitfalls. */
  noCode: NoCodeGuide;
}

/** How PHP and Rack expose a request header: HTTP_ plus the name in capitals with underscores. */
function serverVar(header: string): string {
  return `HTTP_${header.toUpperCase().replace(/-/g, "_")}`;
}

const TOLERANCE = DEFAULT_TOLERANCE_SECONDS;

const NODE = `// Plain Node 18+, no dependencies. Run it: TRYON_WEBHOOK_SECRET=whsec_... node tryon-webhook.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const TOLERANCE_SECONDS = ${TOLERANCE};
const seen = new Set(); // in production: a table with a unique key on the delivery id

export function verifyTryOnWebhook(rawBody, headers, secret, nowMs = Date.now()) {
  // 2. HMAC-SHA256 of the raw bytes, keyed with the whole secret string (whsec_ included), as hex.
  const expected = Buffer.from(createHmac("sha256", secret).update(rawBody).digest("hex"));
  // 3. Timing-safe compare with every sha256=<hex> entry (two are sent while a secret is being rotated).
  const offered = String(headers["${HEADER_SIGNATURE}"] ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("sha256="))
    .map((part) => Buffer.from(part.slice("sha256=".length)));
  const matches = offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
  // 4. Refuse stale (or future) timestamps.
  const timestamp = String(headers["${HEADER_TIMESTAMP}"] ?? "");
  const fresh = /^\\d+$/.test(timestamp) && Math.abs(nowMs / 1000 - Number(timestamp)) <= TOLERANCE_SECONDS;
  return matches && fresh;
}

export function handleTryOnWebhook(req, res, secret = process.env.TRYON_WEBHOOK_SECRET) {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const rawBody = Buffer.concat(chunks); // 1. the raw bytes, before any JSON parsing
    if (!verifyTryOnWebhook(rawBody, req.headers, secret)) {
      res.writeHead(401).end();
      return;
    }
    const deliveryId = req.headers["${HEADER_DELIVERY_ID}"];
    if (seen.has(deliveryId)) {
      res.writeHead(200).end(); // 5. already processed: acknowledge, do nothing
      return;
    }
    seen.add(deliveryId);
    const event = JSON.parse(rawBody.toString("utf8"));
    if (event.event === "lead_captured") {
      // create or update the contact, keyed by event.lead_id
    }
    res.writeHead(200).end();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  createServer((req, res) => handleTryOnWebhook(req, res)).listen(Number(process.env.PORT ?? 3000));
}
`;

const PYTHON = `# Python 3 with Flask: pip install flask
import hashlib
import hmac
import os
import time

from flask import Flask, abort, request

SECRET = os.environ["TRYON_WEBHOOK_SECRET"].encode()  # the whole whsec_... string, exactly as shown
TOLERANCE_SECONDS = ${TOLERANCE}
seen = set()  # in production: a table with a unique key on the delivery id
app = Flask(__name__)


def verify_tryon_webhook(raw_body: bytes, headers) -> bool:
    expected = hmac.new(SECRET, raw_body, hashlib.sha256).hexdigest().encode()
    offered = [
        part.strip()[len("sha256="):].encode()
        for part in headers.get("${HEADER_SIGNATURE}", "").split(",")
        if part.strip().startswith("sha256=")
    ]
    matches = any(hmac.compare_digest(sig, expected) for sig in offered)
    timestamp = headers.get("${HEADER_TIMESTAMP}", "")
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= TOLERANCE_SECONDS
    return matches and fresh


@app.post("/webhooks/tryon")
def tryon_webhook():
    raw_body = request.get_data()  # the raw bytes, before any JSON parsing
    if not verify_tryon_webhook(raw_body, request.headers):
        abort(401)
    delivery_id = request.headers["${HEADER_DELIVERY_ID}"]
    if delivery_id in seen:
        return "", 200  # already processed: acknowledge, do nothing
    seen.add(delivery_id)
    event = request.get_json()
    if event["event"] == "lead_captured":
        pass  # create or update the contact, keyed by event["lead_id"]
    return "", 200
`;

const PHP = `<?php
// PHP 8, any framework or none: this file is the endpoint.
$secret = getenv('TRYON_WEBHOOK_SECRET'); // the whole whsec_... string, exactly as shown
$rawBody = file_get_contents('php://input'); // the raw bytes, before any JSON parsing

$expected = hash_hmac('sha256', $rawBody, $secret);
$matches = false;
foreach (explode(',', $_SERVER['${serverVar(HEADER_SIGNATURE)}'] ?? '') as $part) {
    $part = trim($part);
    if (str_starts_with($part, 'sha256=') && hash_equals($expected, substr($part, 7))) {
        $matches = true;
    }
}
$timestamp = $_SERVER['${serverVar(HEADER_TIMESTAMP)}'] ?? '';
$fresh = ctype_digit($timestamp) && abs(time() - (int) $timestamp) <= ${TOLERANCE};
if (!$matches || !$fresh) {
    http_response_code(401);
    exit;
}

$deliveryId = $_SERVER['${serverVar(HEADER_DELIVERY_ID)}'];
// Insert $deliveryId into a table with a unique key; if it is already there, answer 200 and stop.

$event = json_decode($rawBody, true);
if ($event['event'] === 'lead_captured') {
    // create or update the contact, keyed by $event['lead_id']
}
http_response_code(200);
`;

const RUBY = `# Ruby with Sinatra: gem install sinatra
require "json"
require "openssl"
require "rack/utils"
require "set"
require "sinatra"

SECRET = ENV.fetch("TRYON_WEBHOOK_SECRET") # the whole whsec_... string, exactly as shown
TOLERANCE_SECONDS = ${TOLERANCE}
SEEN = Set.new # in production: a table with a unique key on the delivery id

def verify_tryon_webhook(raw_body, signature_header, timestamp_header)
  expected = OpenSSL::HMAC.hexdigest("SHA256", SECRET, raw_body)
  offered = signature_header.to_s.split(",").map(&:strip)
    .select { |part| part.start_with?("sha256=") }
    .map { |part| part.delete_prefix("sha256=") }
  matches = offered.any? { |sig| Rack::Utils.secure_compare(sig, expected) }
  fresh = timestamp_header.to_s.match?(/\\A\\d+\\z/) && (Time.now.to_i - timestamp_header.to_i).abs <= TOLERANCE_SECONDS
  matches && fresh
end

post "/webhooks/tryon" do
  raw_body = request.body.read # the raw bytes, before any JSON parsing
  halt 401 unless verify_tryon_webhook(raw_body, request.env["${serverVar(HEADER_SIGNATURE)}"], request.env["${serverVar(HEADER_TIMESTAMP)}"])
  delivery_id = request.env["${serverVar(HEADER_DELIVERY_ID)}"]
  halt 200 if SEEN.include?(delivery_id) # already processed: acknowledge, do nothing
  SEEN << delivery_id
  event = JSON.parse(raw_body)
  # create or update the contact, keyed by event["lead_id"], when event["event"] == "lead_captured"
  200
end
`;

/**
 * The no-code part of the receiver guide: how to receive leads in Zapier, Make, n8n and Node-RED, and the
 * three things that make signature checks fail in such tools.
 */

export interface NoCodeTool {
  id: "zapier" | "make" | "n8n" | "node-red";
  name: string;
  steps: string[];
  /** How to make sure a request comes from this app, in that tool. */
  verify: string;
}

export interface SignaturePitfall {
  title: string;
  detail: string;
}

export interface NoCodeGuide {
  intro: string;
  tools: NoCodeTool[];
  pitfalls: SignaturePitfall[];
}

export const NO_CODE_GUIDE: NoCodeGuide = {
  intro:
    "No developer? An automation tool can receive each lead and pass it on to any app. Add an HTTP request destination with the tool's preset (or a signed webhook pointing at the tool's URL), then press Send test so the tool learns the lead's fields.",
  tools: [
    {
      id: "zapier",
      name: "Zapier",
      steps: [
        "Create a Zap. As the trigger choose Webhooks by Zapier, event Catch Hook.",
        "Copy the webhook URL Zapier shows and paste it into the Zapier preset here.",
        "Press Send test here, then Test trigger in Zapier: the lead's fields (email, product, consent…) appear.",
        "Add the steps that use the lead (a CRM, a spreadsheet, an email tool) and publish the Zap.",
      ],
      verify: "The catch hook URL is the key: keep it private. To check signatures instead, use Catch Raw Hook and a Code by Zapier step that computes the HMAC over the raw body.",
    },
    {
      id: "make",
      name: "Make",
      steps: [
        "Create a scenario that starts with Webhooks > Custom webhook, and click Add to make a webhook.",
        "Copy its address and paste it into the Make preset here.",
        "Click Run once in Make, then press Send test here: Make learns the lead's fields from the test.",
        "Add the modules that use the lead and switch the scenario on.",
      ],
      verify: "Give the webhook an API key in Make and enter the same key in the preset: it is sent in the x-make-apikey header and Make refuses requests without it.",
    },
    {
      id: "n8n",
      name: "n8n",
      steps: [
        "Create a workflow that starts with a Webhook node, HTTP method POST.",
        "Copy the node's Production URL (not the Test URL) into the n8n preset here.",
        "Activate the workflow, then press Send test here: the test lead appears in the executions.",
        "Add the nodes that use the lead.",
      ],
      verify: "Set the Webhook node's Authentication to Header Auth and enter the same header name and value in the preset. To check signatures, turn on the node's Raw Body option and compute the HMAC with a Crypto node over that raw body.",
    },
    {
      id: "node-red",
      name: "Node-RED",
      steps: [
        "Add an http in node (method POST, a URL such as /tryon-leads), a function or change node that uses msg.payload, and an http response node (status 200).",
        "Make Node-RED reachable at a public https:// address (a reverse proxy with a certificate), then deploy.",
        "Add an HTTP request destination with a blank request: method POST, that address, body {{ lead | json }}.",
        "Press Send test here: the test lead arrives as msg.payload.",
      ],
      verify: "The http in node parses JSON before your flow sees it, so the exact bytes that were signed are gone. Add a secret header to the destination (tick Secret) and check it in a switch node on msg.req.headers instead.",
    },
  ],
  pitfalls: [
    {
      title: "Verify the raw body, not re-serialised JSON",
      detail:
        "The signature covers the exact bytes that were sent. A tool that parses the JSON and turns it back into text changes spaces, key order or escapes, and the HMAC no longer matches. Take the raw body (Catch Raw Hook, Raw Body, JSON pass-through) before anything parses it.",
    },
    {
      title: "During a rotation the header carries two values",
      detail:
        `While an old signing secret is still allowed, ${HEADER_SIGNATURE} holds two entries separated by a comma (sha256=…, sha256=…) and ${HEADER_STANDARD_SIGNATURE} two separated by a space (v1,… v1,…). Split the header and accept the request if any entry matches.`,
    },
    {
      title: "Which key each signature uses",
      detail:
        `The sha256= signature in ${HEADER_SIGNATURE} is keyed with the secret string exactly as shown, whsec_ included. The Standard Webhooks signature in ${HEADER_STANDARD_SIGNATURE} is keyed with the bytes you get by base64-decoding the part after whsec_, and signs the delivery id, the timestamp and the body joined by dots.`,
    },
  ],
};

export const RECEIVER_GUIDE: ReceiverGuide = {
  toleranceSeconds: TOLERANCE,
  noCode: NO_CODE_GUIDE,
  headers: [
    { name: HEADER_SIGNATURE, meaning: "sha256=<hex>: HMAC-SHA256 of the raw body, keyed with your signing secret string. While a secret is being rotated it carries two signatures separated by a comma: accept the request if either matches." },
    { name: HEADER_TIMESTAMP, meaning: "When this attempt was sent, in Unix seconds. Refuse requests older than 5 minutes." },
    { name: HEADER_DELIVERY_ID, meaning: "The same for every attempt and replay of one delivery: store it and ignore repeats." },
    { name: HEADER_EVENT, meaning: "lead_captured for a new lead, test for the Send test webhook button (a made-up shopper: do not create a contact)." },
    { name: HEADER_SHOP, meaning: "The store's myshopify.com domain." },
  ],
  standardHeaders: [
    { name: HEADER_STANDARD_ID, meaning: "The delivery id (same as the delivery id header)." },
    { name: HEADER_STANDARD_TIMESTAMP, meaning: "The same Unix timestamp." },
    { name: HEADER_STANDARD_SIGNATURE, meaning: "v1,<base64>: the Standard Webhooks signature over id.timestamp.body, so any Standard Webhooks library verifies it with the same secret string." },
  ],
  steps: [
    "Read the raw request body as bytes, before any JSON parsing (re-encoded JSON will not match).",
    `Compute the HMAC-SHA256 of those bytes with your signing secret (the whole whsec_… string) as the key, as lowercase hex.`,
    `Compare it, in constant time, with the hex after sha256= in ${HEADER_SIGNATURE} (each entry, when there are two).`,
    `Reject the request (401) if no signature matches or if ${HEADER_TIMESTAMP} is more than ${TOLERANCE / 60} minutes from now.`,
    `Deduplicate on ${HEADER_DELIVERY_ID}: if you have processed it already, answer 200 and do nothing.`,
  ],
  snippets: [
    { id: "node", label: "Node", code: NODE },
    { id: "python", label: "Python", code: PYTHON },
    { id: "php", label: "PHP", code: PHP },
    { id: "ruby", label: "Ruby", code: RUBY },
  ],
};
