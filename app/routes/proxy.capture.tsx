import type { ActionFunctionArgs } from "@remix-run/node";
import { authenticate } from "../shopify.server";
import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { getLogger } from "../lib/logger.server";
import { getProducers } from "../runtime/producers.server";
import { queueLayout } from "../runtime/queues.server";
import { ensureShop } from "../shops/shops.server";
import { CaptureValidationError, MAX_CAPTURE_BODY_BYTES, parseCaptureBody } from "../capture/capture-input";
import { captureLead, IdempotencyConflictError, isOverload } from "../capture/capture.server";
import { BodyTooLargeError, readBodyWithLimit } from "../lib/read-body.server";
import { clientAddress } from "../lib/client-address";
import { createRateLimiter, RateLimitedError } from "../capture/rate-limit.server";
import { afterCapture } from "../customers/after-capture.server";
import { recordCaptureAnswer, recordLeadCaptured } from "../lib/metrics.server";

// Storefront capture through the app proxy (/apps/tryon-leads/capture on the shop's domain). The proxy
// signature is verified before any parameter is trusted; the shop comes from the verified request only.

/** How long a shopper's widget is asked to wait when the database is not keeping up. */
const OVERLOAD_RETRY_AFTER_SECONDS = 5;

function answer(status: number, body: unknown, headers: Record<string, string> = {}) {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

let consume: ReturnType<typeof createRateLimiter> | undefined;

export const loader = () => answer(405, { error: { field: "method", message: "Use POST" } }, { Allow: "POST" });

/** Every answer is counted by its status (tryon_capture_responses_total); an unexpected error as the 500 it becomes. */
export const action = async (args: ActionFunctionArgs) => {
  try {
    const response = await capture(args);
    recordCaptureAnswer(response.status);
    return response;
  } catch (thrown) {
    recordCaptureAnswer(thrown instanceof Response ? thrown.status : 500);
    throw thrown;
  }
};

async function capture({ request, context }: ActionFunctionArgs): Promise<Response> {
  if (request.method !== "POST") return loader();
  let session;
  try {
    ({ session } = await authenticate.public.appProxy(request));
  } catch (thrown) {
    if (thrown instanceof Response) {
      return answer(thrown.status === 400 ? 401 : thrown.status, { error: { field: "signature", message: "The request signature is not valid" } });
    }
    throw thrown;
  }
  if (!session) return answer(404, { error: { field: "shop", message: "This store has not installed the app" } });

  let input;
  try {
    input = parseCaptureBody(await readBodyWithLimit(request, MAX_CAPTURE_BODY_BYTES));
  } catch (error) {
    if (error instanceof BodyTooLargeError) return answer(413, { error: { field: "body", message: error.message } });
    if (error instanceof CaptureValidationError) return answer(422, { error: { field: error.field, message: error.message } });
    throw error;
  }

  const db = getDb();
  const producers = getProducers();
  const config = getConfig();
  consume ??= createRateLimiter({
    redis: producers.redis,
    secret: config.SHOPIFY_API_SECRET,
    prefix: queueLayout(config).rateLimitPrefix,
    rules: [
      { scope: "shop", ...config.CAPTURE_LIMIT_PER_SHOP },
      { scope: "ip", ...config.CAPTURE_LIMIT_PER_ADDRESS },
      { scope: "email", ...config.CAPTURE_LIMIT_PER_EMAIL },
    ],
  });
  const logger = getLogger();
  try {
    const shop = await ensureShop(db, session.shop);
    const result = await captureLead(
      {
        db,
        consumeRateLimit: consume,
        afterCapture: (leadId, deliveries) => afterCapture({ ...producers, taggingDeadlineMs: config.TAGGING_DEADLINE }, leadId, deliveries),
        onBackgroundError: (error, leadId) => logger.warn({ err: error, leadId }, "after-capture work not queued; the reconciler will deliver"),
        maxWaiting: config.CAPTURE_MAX_WAITING,
      },
      {
        shop,
        input,
        clientIp: clientAddress({
          forwardedFor: request.headers.get("x-forwarded-for"),
          socketAddress: context.socketAddress,
          trustedHops: config.TRUSTED_PROXY_HOPS,
        }),
      },
    );
    logger.info({ shop: shop.domain, leadId: result.leadId, duplicate: result.duplicate }, "lead captured");
    if (!result.duplicate) recordLeadCaptured();
    return answer(result.duplicate ? 200 : 201, { ok: true, leadId: result.leadId });
  } catch (error) {
    if (error instanceof IdempotencyConflictError) {
      return answer(409, { error: { field: "idempotencyKey", message: error.message } });
    }
    if (error instanceof RateLimitedError) {
      return answer(429, { error: { field: "rate", message: "Too many submissions, please wait a moment" } }, { "Retry-After": String(error.retryAfterSeconds) });
    }
    if (isOverload(error)) {
      logger.warn({ err: error, shop: session.shop }, "capture refused: the database is not keeping up");
      return answer(503, { error: { field: "server", message: "Busy right now, please try again in a moment" } }, { "Retry-After": String(OVERLOAD_RETRY_AFTER_SECONDS) });
    }
    throw error;
  }
}
