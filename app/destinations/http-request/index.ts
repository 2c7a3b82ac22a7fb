/**
 * The "HTTP request" destination engine: definitions built from Liquid templates, their validation at
 * save, rendering and preview per lead, retry rules for the answers, the field reference and presets.
 * Domain code only: the caller stores definitions and secret values, and sends through the webhook
 * sender's `exchange`.
 */
export * from "./definition";
export { TemplateError, availableFilters, type TemplateLimitName } from "./template-engine";
export { buildTemplateFields, type TemplateFields, type TemplateUtm } from "./template-fields";
export {
  FIELD_REFERENCE, SAMPLE_DELIVERY_ID, SAMPLE_LEAD_BODY, SAMPLE_LEAD_JSON, sampleTemplateFields, validationSamples,
  type FieldReferenceEntry,
} from "./field-reference";
export { headerNameProblem, headerValueProblem } from "./header-rules";
export { splitUrlTemplate, checkRenderedUrl, type UrlTemplateParts } from "./url-template";
export { validateHttpRequestDefinition, type DefinitionCheck, type ValidateOptions } from "./validate-definition";
export { renderHttpRequest, HttpRequestRenderError, type DefinitionProblem } from "./render-request";
export { previewHttpRequest, type PreviewHeader, type PreviewResult, type RequestPreview } from "./preview";
export {
  attemptHttpRequest, classifyHttpRequestAnswer, isRetryableStatus, renderFailureOutcome, RETRYABLE_STATUSES,
  type HttpRequestAttempt,
} from "./classify-answer.server";
export { excerptWithoutSecrets } from "./secret-scrub.server";
export * from "./presets";
