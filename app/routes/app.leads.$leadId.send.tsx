import type { ActionFunctionArgs } from "@remix-run/node";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminForm, readAdminParam, refusal } from "../lib/admin-input.server";
import { getWebhookServices } from "../destinations/services.server";
import { LeadNotFoundError, sendLeadToDestination } from "../destinations/send-lead.server";
import { IntegrationEndpointNotFoundError } from "../destinations/errors";
import { InvalidSendToError, parseSendToForm, sendToMessage, type SendToAnswer } from "../leads/send-to";

// "Send to…" on a lead's row: that lead to one of the shop's live destinations. The lead and the destination
// are looked up with the session token's shop: another shop's id is "not found".
export const action = async ({ request, params }: ActionFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const leadId = readAdminParam(params, "leadId", { maxLength: 64 });
  const form = await readAdminForm(request);
  let destinationId: string;
  try {
    ({ destinationId } = parseSendToForm(form));
  } catch (error) {
    if (error instanceof InvalidSendToError) return refusal(400, "destinationId", error.message);
    throw error;
  }
  const services = getWebhookServices();
  try {
    const result = await sendLeadToDestination({ db: services.db, queue: services.queue(), shop, leadId, destinationId });
    const destination = await services.db.destination.findFirst({ where: { id: destinationId, shopId: shop.id }, select: { name: true, state: true } });
    services.logger.info({ shopId: shop.id, leadId, destinationId, outcome: result.outcome }, "lead sent to a destination by hand");
    const answer: SendToAnswer = {
      ...result,
      message: sendToMessage(result.outcome, destination?.name ?? "the destination", destination?.state === "paused"),
    };
    return Response.json(answer, { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    if (error instanceof IntegrationEndpointNotFoundError || error instanceof LeadNotFoundError) {
      return refusal(404, error instanceof LeadNotFoundError ? "leadId" : "destinationId", error.message);
    }
    throw error;
  }
};

