import { data } from "@remix-run/node";
import { merchantErrorAnswer } from "./errors";

/**
 * What an admin action answers a destination error the merchant can act on (see merchantErrorAnswer): a 404
 * is thrown as a response, the others are returned with the message and, when known, the form field. Anything
 * else is thrown on.
 */
export function answerMerchantError(error: unknown, intent: string) {
  const answer = merchantErrorAnswer(error);
  if (!answer) throw error;
  const { message } = error as Error;
  if (answer.status === 404) throw new Response(message, { status: 404 });
  return data({ intent, error: message, ...(answer.field ? { field: answer.field } : {}) }, { status: answer.status });
}
