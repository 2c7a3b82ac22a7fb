import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveWebhook } from "../compliance/runtime.server";

// Shopify's customers/redact webhook (shopify.app.toml): erase one shopper's leads, deliveries and queued jobs in this shop.
export const action = ({ request }: ActionFunctionArgs) => receiveWebhook(request, "customers/redact");

export const loader = () => new Response(null, { status: 405, headers: { Allow: "POST" } });
