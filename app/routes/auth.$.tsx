import type { LoaderFunctionArgs } from "@remix-run/node";
import { authenticateAdmin } from "../lib/admin.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  await authenticateAdmin(request);
  return null;
};
