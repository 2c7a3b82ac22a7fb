import type { LoaderFunctionArgs } from "@remix-run/node";
import { answerWebOps } from "../runtime/ops.server";

// For the operator's tools, not for merchants: no Shopify authentication (see app/runtime/ops.server.ts).
export const loader = ({ request }: LoaderFunctionArgs) => answerWebOps(request);
