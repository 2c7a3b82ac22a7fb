import { data } from "@remix-run/node";
import type { Db } from "../../lib/db.server";
import type { ShopRef } from "../../shops/shops.server";
import type { ExchangeResult, OutboundRequest } from "../../delivery/http-sender.server";
import type { KeyRing } from "../../lib/secret-box.server";
import type { EditorActionData } from "../ui/request-editor-state";
import { previewDestinationRequest } from "./destination.server";
import { EDITOR_FIELDS, EDITOR_MAX_BYTES, InvalidEditorFormError, parseEditorIntent, sendTestRequest, type EditorIntent } from "./editor.server";
import { readAdminForm } from "../../lib/admin-input.server";

/**
 * What the two request-editor pages (add and edit) answer alike: reading the editor's form, and the two
 * intents that store nothing (preview, test send). Saving differs between them and stays in each route.
 */

export type EditorAnswer = ReturnType<typeof data<EditorActionData>>;

/** The editor's form as an intent, or the 400 that a form no intent can be read from gets. */
export async function readEditorIntent(request: Request): Promise<{ intent: EditorIntent } | { answer: EditorAnswer }> {
  const form = await readAdminForm(request, { maxBytes: EDITOR_MAX_BYTES, longFields: EDITOR_FIELDS });
  try {
    return { intent: parseEditorIntent(form) };
  } catch (error) {
    if (error instanceof InvalidEditorFormError) return { answer: data<EditorActionData>({ intent: "invalid", error: error.message }, { status: 400 }) };
    throw error;
  }
}

/**
 * Answers a preview or a test send of the request being edited (`destinationId` when it is a stored
 * destination: its stored secret header values then fill the ones left blank). Null for a save.
 */
export async function answerDraftIntent(
  intent: EditorIntent,
  input: { db: Db; shop: ShopRef; ring: KeyRing; exchange: (request: OutboundRequest) => Promise<ExchangeResult>; destinationId?: string },
): Promise<EditorAnswer | null> {
  const { db, shop, ring, destinationId } = input;
  switch (intent.intent) {
    case "preview": {
      const preview = await previewDestinationRequest({ db, shop, ring, destinationId, definition: intent.definition });
      // What keeps the request from rendering is the preview's answer, not a refusal: nothing is stored.
      if (!preview.ok) return data<EditorActionData>({ intent: "preview", ok: false, problems: preview.problems });
      return data<EditorActionData>({ intent: "preview", ok: true, request: preview.request, basedOn: preview.basedOn });
    }
    case "send_test": {
      const sent = await sendTestRequest({
        db, shop, ring, destinationId, exchange: input.exchange, definition: intent.definition, secretValues: intent.secretValues,
      });
      if (!sent.ok) return data<EditorActionData>({ intent: "send_test", ok: false, problems: sent.problems }, { status: 422 });
      return data<EditorActionData>({ intent: "send_test", ok: true, result: sent.result }, { headers: { "Cache-Control": "no-store" } });
    }
    default:
      return null;
  }
}
