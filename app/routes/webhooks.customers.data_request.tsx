import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveWebhook } from "../compliance/runtime.server";

// Shopify's customers/data_request webhook (shopify.app.toml): a shopper asks, through the merchant, for the data held about them (recorded for the Privacy page).
export const action = ({ request }: ActionFunctionArgs) => receiveWebhook(request, "customers/data_request");

export const loader = () => new Response(null, { status: 405, headers: { Allow: "POST" } });
