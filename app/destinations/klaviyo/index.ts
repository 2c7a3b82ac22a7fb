/**
 * The Klaviyo destination: checking a key, listing lists, building requests, classifying answers and
 * running one delivery attempt. Domain code only: the caller passes the transport (`exchange`) and owns
 * storage, scheduling and pausing.
 */
export { classifyKlaviyoResult, type KlaviyoAnswerContext } from "./classify";
export { requestKlaviyoProfileDeletion, sendLeadToKlaviyo, type KlaviyoLeadDelivery } from "./deliver";
export {
  checkKlaviyoKey, requiredKlaviyoScopes,
  type KeyCheckParams, type KlaviyoAccount, type KlaviyoFeatures, type KlaviyoKeyCheck, type KlaviyoKeyProblem,
} from "./key-check";
export {
  JSON_API_MEDIA_TYPE, KLAVIYO_BASE_URL, KLAVIYO_OPERATION_SCOPES, KLAVIYO_PATHS, KLAVIYO_QUOTA_SHARE, KLAVIYO_RATE_LIMITS,
  KLAVIYO_REVISION, KlaviyoKeyFormatError, keyLastFour, klaviyoDeliveryRate, klaviyoHeaders, normaliseApiKey,
  type DeliveryRate, type KlaviyoExchange, type KlaviyoOperation, type RateLimit,
} from "./klaviyo-api";
export { fetchKlaviyoLists, MAX_KLAVIYO_LISTS, type KlaviyoList, type KlaviyoListsResult } from "./lists";
export {
  buildCreateEventRequest, buildGetAccountsRequest, buildGetListsRequest, buildProfileDeletionRequest, buildSubscribeProfileRequest,
  DEFAULT_METRIC_NAME, InvalidMetricNameError, KLAVIYO_CONSENT_SOURCE, MAX_METRIC_NAME_LENGTH, normaliseMetricName,
  type CreateEventInput, type SubscribeProfileInput,
} from "./requests";
