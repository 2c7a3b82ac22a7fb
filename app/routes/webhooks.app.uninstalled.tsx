import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveWebhook } from "../compliance/runtime.server";

// Shopify's app/uninstalled webhook (shopify.app.toml): remove the sessions and stop sending; data is kept until shop/redact.
export const action = ({ request }: ActionFunctionArgs) => receiveWebhook(request, "app/uninstalled");

export const loader = () => new Response(null, { status: 405, headers: { Allow: "POST" } });
