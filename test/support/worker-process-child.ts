/**
 * The `npm run worker` entry point (`runWorkerProcess`) in a process of its own, configured from the
 * environment exactly as in production. Prints `ready <pid>` once started; exits 1 with the reason when the
 * worker refuses to start. Options (JSON in argv[2]), each what a test passes in code, never a setting:
 * - `queueName`, `prefix`: a delivery queue and key prefix of the test's own (default: the configuration's);
 * - `loopbackCa`: deliveries may go to 127.0.0.1, trusting this CA (the test's HTTPS receiver);
 * - `adminApiUrl`: Shopify's Admin API calls go to the stand-in served there (FakeAdminApi.serve).
 */
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { runWorkerProcess } from "../../app/runtime/processes.server";
import { installForwardingFetch } from "./fake-admin-api";

interface ChildOptions {
  queueName?: string;
  prefix?: string;
  loopbackCa?: string;
  adminApiUrl?: string;
}

const options = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
if (options.adminApiUrl) installForwardingFetch(options.adminApiUrl);
const transport = options.loopbackCa
  ? { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: options.loopbackCa }
  : undefined;
try {
  await runWorkerProcess({ deliveryQueueName: options.queueName, prefix: options.prefix, transport });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
process.stdout.write(`ready ${process.pid}\n`);
