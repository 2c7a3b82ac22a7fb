/**
 * Sends one webhook with the production sender's trust settings (no extra CA passed in code; only the
 * address policy admits loopback, as a test must) and prints the attempt's result as JSON. Run as a child
 * process, so that NODE_EXTRA_CA_CERTS, which Node reads once at start, can differ per run.
 */
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";

const { url } = JSON.parse(process.argv[2]) as { url: string };
const sender = createWebhookSender({ policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), deadlineMs: 5_000 });
const result = await sender.send({
  url, body: "{}", deliveryId: "d_private_ca", event: "test", shop: "private-ca.myshopify.com", secrets: [`whsec_${Buffer.alloc(32, 7).toString("base64")}`],
});
sender.close();
process.stdout.write(JSON.stringify(result));
