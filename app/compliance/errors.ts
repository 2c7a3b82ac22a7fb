/** What a privacy or lifecycle webhook, or the merchant's privacy page, can refuse. */

/** A webhook request that is not from Shopify or not complete: answered with `status`, nothing done. */
export class WebhookRejectedError extends Error {
  constructor(
    readonly status: 400 | 401 | 405 | 413,
    message: string,
  ) {
    super(message);
    this.name = "WebhookRejectedError";
  }
}

/** The body verified but does not carry what the topic needs (e.g. no customer). */
export class InvalidWebhookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidWebhookPayloadError";
  }
}

/** The webhook id (or Shopify event id) was handled before: the redelivery changes nothing. */
export class DuplicateWebhookError extends Error {
  constructor(readonly webhookId: string) {
    super("webhook already handled");
    this.name = "DuplicateWebhookError";
  }
}

/** No data request with that id for this shop (another shop's id is "not found" too). */
export class DataRequestNotFoundError extends Error {
  constructor() {
    super("data request not found");
    this.name = "DataRequestNotFoundError";
  }
}

/** The request was marked done: its copy of the shopper's email is erased, so nothing can be assembled. */
export class DataRequestClosedError extends Error {
  constructor() {
    super("data request already completed");
    this.name = "DataRequestClosedError";
  }
}
