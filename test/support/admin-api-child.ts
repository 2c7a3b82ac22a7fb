/**
 * A process other than the test's tags one shopper through the app's real Admin client, with its calls
 * forwarded to the Admin API stand-in the test serves (as a benchmark's worker processes do). Prints the
 * tagging's result as JSON on its last line.
 */
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { tagTryOnCustomer } from "../../app/customers/tag-customer.server";
import { installForwardingFetch } from "./fake-admin-api";

const { url, shop, email } = JSON.parse(process.argv[2] ?? "{}") as { url: string; shop: string; email: string };
installForwardingFetch(url);
const costs: unknown[] = [];
const graphql = await adminGraphqlFor(shop, { onCost: (cost) => void costs.push(cost) });
const result = await tagTryOnCustomer(graphql, { email, consentedAt: new Date() });
process.stdout.write(`${JSON.stringify({ result, costs })}\n`);
process.exit(0);
