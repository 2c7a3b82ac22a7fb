import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";

// Shopify opens the app with ?shop=…; everything else is a plain description page.
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const url = new URL(request.url);
  if (url.searchParams.get("shop")) throw redirect(`/app?${url.searchParams.toString()}`);
  return null;
};

export default function Index() {
  return (
    <main style={{ fontFamily: "system-ui, sans-serif", maxWidth: 640, margin: "4rem auto", lineHeight: 1.5 }}>
      <h1>Try-on leads</h1>
      <p>
        Captures the email a shopper leaves after a virtual try-on and sends it to the merchant's CRM as a signed
        webhook. Install the app from the Shopify admin and open the Leads tab.
      </p>
    </main>
  );
}
