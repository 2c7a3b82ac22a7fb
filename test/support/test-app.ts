/**
 * The app identity every test process and benchmark uses: the same API key and secret as Shopify's test
 * helpers, so that their session tokens, proxy signatures and webhook HMACs verify. Kept apart from
 * setup-env.ts (which runs inside the test runner) so that code outside the runner can import it.
 */
export const TEST_API_KEY = "testApiKey";
export const TEST_API_SECRET = "testApiSecretKey";
export const TEST_APP_URL = "https://my-test-app.myshopify.io";
