import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveWebhook } from "../compliance/runtime.server";

// Shopify's shop/redact webhook (shopify.app.toml): erase everything of a shop, 48 hours after it uninstalled.
export const action = ({ request }: ActionFunctionArgs) => receiveWebhook(request, "shop/redact");

export const loader = () => new Response(null, { status: 405, headers: { Allow: "POST" } });
