import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { authenticateAdmin } from "../shops/admin.server";

// The Leads tab is the app's home: keep the embedded query (host, shop, id_token) on the way there.
export const loader = async ({ request }: LoaderFunctionArgs) => {
  await authenticateAdmin(request);
  const url = new URL(request.url);
  return redirect(`/app/leads${url.search}`);
};
