import { unauthenticated } from "../shopify.server";
import { CustomerTaggingError, type AdminGraphql } from "./tag-customer.server";

/**
 * The Admin GraphQL API of a shop through its stored offline session (background work has no request).
 * GraphQL errors and throttling are retryable; a missing session (uninstalled shop) is not.
 */
export async function adminGraphqlFor(shopDomain: string): Promise<AdminGraphql> {
  let admin;
  try {
    ({ admin } = await unauthenticated.admin(shopDomain));
  } catch {
    throw new CustomerTaggingError("The shop has no offline session (the app may have been uninstalled)", false);
  }
  return async (query, variables) => {
    let response: Response;
    try {
      response = await admin.graphql(query, { variables });
    } catch (error) {
      throw new CustomerTaggingError(`The Admin API call failed: ${error instanceof Error ? error.message : String(error)}`, true);
    }
    const json = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown };
    if (json.errors || !json.data) {
      throw new CustomerTaggingError(`The Admin API answered with errors: ${JSON.stringify(json.errors ?? "no data").slice(0, 300)}`, true);
    }
    return json.data;
  };
}
