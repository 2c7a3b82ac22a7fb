import type { LoaderFunctionArgs } from "@remix-run/node";
import { authenticateAdmin } from "../shops/admin.server";

export const loader = async ({ request }: LoaderFunctionArgs) => {
  await authenticateAdmin(request);
  return null;
};
