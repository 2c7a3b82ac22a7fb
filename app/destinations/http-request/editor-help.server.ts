import { NO_CODE_GUIDE, type NoCodeGuide } from "../receiver-guide.server";
import { FIELD_REFERENCE, SAMPLE_LEAD_JSON, type FieldReferenceEntry } from "./field-reference";
import { availableFilters } from "./template-engine";

/** What the HTTP-request pages show beside the form: the field reference and the no-code receiver guide. */

export interface FieldReferenceHelp {
  fields: ReadonlyArray<FieldReferenceEntry>;
  /** The sample lead as a webhook body carries it. */
  sampleJson: string;
  filters: string[];
}

export function editorPageHelp(): { reference: FieldReferenceHelp; noCode: NoCodeGuide } {
  return { reference: { fields: FIELD_REFERENCE, sampleJson: SAMPLE_LEAD_JSON, filters: availableFilters() }, noCode: NO_CODE_GUIDE };
}
