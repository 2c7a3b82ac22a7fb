/**
 * Makes the shopper a Shopify customer tagged as a try-on lead, with email marketing consent recorded as
 * given, through the Admin GraphQL API. Reports `tagged: true` only when the tag is confirmed on the
 * customer by Shopify's own answer.
 */

export const TRYON_LEAD_TAG = "tryon-lead";

/**
 * What one tagging costs in Shopify's rate-limit points: a customer search (a few points) and at most two
 * mutations (10 each); most shoppers are new, which takes the search and one create.
 */
export const MAX_TAGGING_COST_POINTS = 25;
export const USUAL_TAGGING_COST_POINTS = 15;

/** Runs one Admin GraphQL operation and returns its `data` (throws on transport or top-level errors). */
export type AdminGraphql = (query: string, variables: Record<string, unknown>) => Promise<Record<string, unknown>>;

export class CustomerTaggingError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "CustomerTaggingError";
  }
}

export interface TagResult {
  customerId: string;
  tagged: boolean;
  created: boolean;
}

interface CustomerNode {
  id: string;
  tags: string[];
  emailMarketingConsent?: { marketingState?: string | null } | null;
}

const FIND = `#graphql
  query FindTryOnCustomer($query: String!) {
    customers(first: 1, query: $query) { nodes { id tags emailMarketingConsent { marketingState } } }
  }`;

const CREATE = `#graphql
  mutation CreateTryOnCustomer($input: CustomerInput!) {
    customerCreate(input: $input) {
      customer { id tags emailMarketingConsent { marketingState } }
      userErrors { field message }
    }
  }`;

const ADD_TAG = `#graphql
  mutation TagTryOnCustomer($id: ID!, $tags: [String!]!) {
    tagsAdd(id: $id, tags: $tags) {
      node { ... on Customer { id tags } }
      userErrors { field message }
    }
  }`;

const CONSENT = `#graphql
  mutation RecordTryOnConsent($input: CustomerEmailMarketingConsentUpdateInput!) {
    customerEmailMarketingConsentUpdate(input: $input) {
      customer { id emailMarketingConsent { marketingState } }
      userErrors { field message }
    }
  }`;

function consentInput(consentedAt: Date) {
  return { marketingState: "SUBSCRIBED", marketingOptInLevel: "SINGLE_OPT_IN", consentUpdatedAt: consentedAt.toISOString() };
}

function userErrorsOf(result: Record<string, unknown>, field: string): string[] {
  const payload = result[field] as { userErrors?: { message: string }[] } | undefined;
  return (payload?.userErrors ?? []).map((e) => e.message);
}

/** Search syntax: quote the address and escape what would end the quoted term. */
function emailQuery(email: string): string {
  return `email:"${email.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function findCustomer(graphql: AdminGraphql, email: string): Promise<CustomerNode | null> {
  const data = await graphql(FIND, { query: emailQuery(email) });
  const nodes = (data.customers as { nodes?: CustomerNode[] } | undefined)?.nodes ?? [];
  return nodes[0] ?? null;
}

export async function tagTryOnCustomer(graphql: AdminGraphql, lead: { email: string; consentedAt: Date }): Promise<TagResult> {
  let customer = await findCustomer(graphql, lead.email);
  let created = false;
  if (!customer) {
    const data = await graphql(CREATE, {
      input: { email: lead.email, tags: [TRYON_LEAD_TAG], emailMarketingConsent: consentInput(lead.consentedAt) },
    });
    const errors = userErrorsOf(data, "customerCreate");
    const made = (data.customerCreate as { customer?: CustomerNode | null } | undefined)?.customer ?? null;
    if (made) {
      customer = made;
      created = true;
    } else {
      // Another capture for the same shopper may have created the customer first.
      customer = await findCustomer(graphql, lead.email);
      if (!customer) throw new CustomerTaggingError(`Shopify refused to create the customer: ${errors.join("; ") || "no reason given"}`, false);
    }
  }

  let tags = customer.tags;
  if (!tags.includes(TRYON_LEAD_TAG)) {
    const data = await graphql(ADD_TAG, { id: customer.id, tags: [TRYON_LEAD_TAG] });
    const errors = userErrorsOf(data, "tagsAdd");
    if (errors.length) throw new CustomerTaggingError(`Shopify refused the tag: ${errors.join("; ")}`, false);
    tags = (data.tagsAdd as { node?: { tags?: string[] } | null } | undefined)?.node?.tags ?? [];
  }

  if (customer.emailMarketingConsent?.marketingState !== "SUBSCRIBED") {
    const data = await graphql(CONSENT, { input: { customerId: customer.id, emailMarketingConsent: consentInput(lead.consentedAt) } });
    const errors = userErrorsOf(data, "customerEmailMarketingConsentUpdate");
    if (errors.length) throw new CustomerTaggingError(`Shopify refused the marketing consent: ${errors.join("; ")}`, false);
  }

  return { customerId: customer.id, tagged: tags.includes(TRYON_LEAD_TAG), created };
}
