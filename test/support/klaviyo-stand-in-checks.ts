/**
 * The request-body rules of the Klaviyo stand-in, written from Klaviyo's API reference and OpenAPI
 * documents (revision 2026-07-15 / 2026-10-15) for the three writes this product makes, independently of
 * the app's own builders so that a builder mistake fails a test instead of being mirrored here.
 *
 * Each check returns the JSON:API error items Klaviyo would answer 400 with (`detail` and a `pointer` into
 * the document), or the parts of the request the stand-in records.
 */

export interface Problem {
  detail: string;
  pointer: string;
}

export interface EventWrite {
  metric: string;
  /** The profile identifier Klaviyo de-duplicates on (email, lower-cased, when given). */
  profileKey: string;
  email: string | null;
  uniqueId: string | null;
  time: string | null;
  properties: Record<string, unknown>;
  backfill: boolean;
}

export interface SubscriptionWrite {
  listId: string | null;
  emails: string[];
  consentedAt: (string | null)[];
  historicalImport: boolean;
  customSource: string | null;
}

export interface DeletionWrite {
  email: string | null;
  phoneNumber: string | null;
  profileId: string | null;
}

type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Klaviyo validates email syntax on writes; this is a plain form of that check. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const EVENT_ATTRIBUTES = new Set(["properties", "time", "value", "value_currency", "unique_id", "backfill", "metric", "profile"]);
const PROFILE_IDENTIFIERS = ["email", "phone_number", "external_id", "anonymous_id", "_kx"];
const MAX_EVENT_PROPERTIES = 400;
const MAX_NESTING = 10;
const MAX_STRING_BYTES = 100 * 1024;
const YEAR_MS = 366 * 24 * 3600_000;

function resource(body: unknown, type: string, problems: Problem[]): Json | null {
  if (!isObject(body) || !isObject(body.data)) {
    problems.push({ detail: "The request body must be a JSON:API document with a `data` object.", pointer: "/data" });
    return null;
  }
  if (body.data.type !== type) problems.push({ detail: `\`type\` must be '${type}'.`, pointer: "/data/type" });
  if (!isObject(body.data.attributes)) {
    problems.push({ detail: "`attributes` is required.", pointer: "/data/attributes" });
    return null;
  }
  return body.data;
}

/** A misspelt attribute (`uniqueId`) is an error, not silently ignored. */
function refuseUnknown(attributes: Json, known: ReadonlySet<string>, type: string, problems: Problem[]): void {
  for (const key of Object.keys(attributes)) {
    if (!known.has(key)) problems.push({ detail: `'${key}' is not a valid field for the resource '${type}'.`, pointer: `/data/attributes/${key}` });
  }
}

function nestingOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(nestingOf));
}

function oversizedString(value: unknown): boolean {
  if (typeof value === "string") return Buffer.byteLength(value) > MAX_STRING_BYTES;
  if (typeof value !== "object" || value === null) return false;
  return (Array.isArray(value) ? value : Object.values(value)).some(oversizedString);
}

export function checkCreateEvent(body: unknown, now: Date): Checked<EventWrite> {
  const problems: Problem[] = [];
  const data = resource(body, "event", problems);
  if (!data) return { ok: false, problems };
  const a = data.attributes as Json;
  refuseUnknown(a, EVENT_ATTRIBUTES, "event", problems);

  const properties = a.properties;
  if (!isObject(properties)) problems.push({ detail: "`properties` is required and must be an object.", pointer: "/data/attributes/properties" });
  else {
    if (Object.keys(properties).length > MAX_EVENT_PROPERTIES) problems.push({ detail: "An event may have at most 400 properties.", pointer: "/data/attributes/properties" });
    if (nestingOf(properties) > MAX_NESTING) problems.push({ detail: "Event properties may be nested at most 10 levels deep.", pointer: "/data/attributes/properties" });
    if (oversizedString(properties)) problems.push({ detail: "A property value may be at most 100 KB.", pointer: "/data/attributes/properties" });
  }

  let time: string | null = null;
  if (a.time !== undefined && a.time !== null) {
    const at = typeof a.time === "string" ? Date.parse(a.time) : Number.NaN;
    if (Number.isNaN(at)) problems.push({ detail: "`time` must be an ISO 8601 date-time.", pointer: "/data/attributes/time" });
    else if (new Date(at).getUTCFullYear() <= 1990 || at > now.getTime() + YEAR_MS) {
      problems.push({ detail: "`time` must be after 1990 and at most one year in the future.", pointer: "/data/attributes/time" });
    } else time = a.time as string;
  }
  if (a.value !== undefined && a.value !== null && typeof a.value !== "number") problems.push({ detail: "`value` must be a number.", pointer: "/data/attributes/value" });
  if (a.unique_id !== undefined && a.unique_id !== null && typeof a.unique_id !== "string") problems.push({ detail: "`unique_id` must be a string.", pointer: "/data/attributes/unique_id" });
  if (a.backfill !== undefined && a.backfill !== null && typeof a.backfill !== "boolean") problems.push({ detail: "`backfill` must be a boolean.", pointer: "/data/attributes/backfill" });

  const metric = isObject(a.metric) && isObject(a.metric.data) ? a.metric.data : null;
  let metricName = "";
  if (!metric || metric.type !== "metric" || !isObject(metric.attributes)) {
    problems.push({ detail: "`metric` must hold a resource of type 'metric' with attributes.", pointer: "/data/attributes/metric/data" });
  } else if (typeof metric.attributes.name !== "string" || metric.attributes.name.length === 0 || metric.attributes.name.length >= 128) {
    problems.push({ detail: "The metric `name` is required and must be less than 128 characters.", pointer: "/data/attributes/metric/data/attributes/name" });
  } else metricName = metric.attributes.name;

  const profile = isObject(a.profile) && isObject(a.profile.data) ? a.profile.data : null;
  let email: string | null = null;
  let profileKey = "";
  if (!profile || profile.type !== "profile" || !isObject(profile.attributes)) {
    problems.push({ detail: "`profile` must hold a resource of type 'profile' with attributes.", pointer: "/data/attributes/profile/data" });
  } else {
    const attributes = profile.attributes;
    const identifier = PROFILE_IDENTIFIERS.find((k) => typeof attributes[k] === "string" && (attributes[k] as string).length > 0);
    if (!identifier && typeof profile.id !== "string") {
      problems.push({ detail: "The profile needs at least one identifier (id, email, phone_number, external_id...).", pointer: "/data/attributes/profile/data/attributes" });
    }
    if (attributes.email !== undefined && attributes.email !== null) {
      if (typeof attributes.email !== "string" || !EMAIL.test(attributes.email)) {
        problems.push({ detail: `Invalid email address: ${String(attributes.email)}`, pointer: "/data/attributes/profile/data/attributes/email" });
      } else email = attributes.email;
    }
    profileKey = email ? `email:${email.toLowerCase()}` : identifier ? `${identifier}:${String(attributes[identifier])}` : `id:${String(profile.id)}`;
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      metric: metricName, profileKey, email, time, properties: properties as Json,
      uniqueId: typeof a.unique_id === "string" ? a.unique_id : null, backfill: a.backfill === true,
    },
  };
}

const SUBSCRIPTION_ATTRIBUTES = new Set(["custom_source", "profiles", "historical_import"]);

export function checkBulkSubscribe(body: unknown, now: Date): Checked<SubscriptionWrite> {
  const problems: Problem[] = [];
  const data = resource(body, "profile-subscription-bulk-create-job", problems);
  if (!data) return { ok: false, problems };
  const a = data.attributes as Json;
  refuseUnknown(a, SUBSCRIPTION_ATTRIBUTES, "profile-subscription-bulk-create-job", problems);
  const historicalImport = a.historical_import === true;
  if (a.custom_source !== undefined && a.custom_source !== null && typeof a.custom_source !== "string") {
    problems.push({ detail: "`custom_source` must be a string.", pointer: "/data/attributes/custom_source" });
  }

  const profiles = isObject(a.profiles) && Array.isArray(a.profiles.data) ? a.profiles.data : null;
  const emails: string[] = [];
  const consentedAt: (string | null)[] = [];
  if (!profiles || profiles.length === 0 || profiles.length > 1000) {
    problems.push({ detail: "`profiles.data` must list 1 to 1000 profiles.", pointer: "/data/attributes/profiles/data" });
  } else {
    profiles.forEach((p, i) => {
      const at = `/data/attributes/profiles/data/${i}`;
      if (!isObject(p) || p.type !== "profile" || !isObject(p.attributes)) return void problems.push({ detail: "Each entry must be a 'profile' with attributes.", pointer: at });
      const subscriptions = p.attributes.subscriptions;
      if (!isObject(subscriptions)) return void problems.push({ detail: "`subscriptions` is required.", pointer: `${at}/attributes/subscriptions` });
      const email = p.attributes.email;
      const marketing = isObject(subscriptions.email) && isObject(subscriptions.email.marketing) ? subscriptions.email.marketing : null;
      if (isObject(subscriptions.email) && !marketing) problems.push({ detail: "The email channel needs `marketing` parameters.", pointer: `${at}/attributes/subscriptions/email` });
      if (!marketing) return;
      if (typeof email !== "string" || !EMAIL.test(email)) return void problems.push({ detail: `Invalid email address: ${String(email)}`, pointer: `${at}/attributes/email` });
      if (marketing.consent !== "SUBSCRIBED") problems.push({ detail: "`consent` must be 'SUBSCRIBED'.", pointer: `${at}/attributes/subscriptions/email/marketing/consent` });
      const consented = marketing.consented_at;
      if (consented !== undefined && consented !== null && !historicalImport) {
        problems.push({ detail: "`consented_at` may only be given with `historical_import`.", pointer: `${at}/attributes/subscriptions/email/marketing/consented_at` });
      }
      if (historicalImport) {
        const when = typeof consented === "string" ? Date.parse(consented) : Number.NaN;
        if (Number.isNaN(when) || when > now.getTime()) {
          problems.push({ detail: "With `historical_import`, `consented_at` is required and must be in the past.", pointer: `${at}/attributes/subscriptions/email/marketing/consented_at` });
        }
      }
      emails.push(email);
      consentedAt.push(typeof consented === "string" ? consented : null);
    });
  }

  let listId: string | null = null;
  if (data.relationships !== undefined) {
    const list = isObject(data.relationships) && isObject(data.relationships.list) && isObject(data.relationships.list.data) ? data.relationships.list.data : null;
    if (!list || list.type !== "list" || typeof list.id !== "string" || list.id.length === 0) {
      problems.push({ detail: "`relationships.list.data` must be a 'list' with an id.", pointer: "/data/relationships/list/data" });
    } else listId = list.id;
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { listId, emails, consentedAt, historicalImport, customSource: typeof a.custom_source === "string" ? a.custom_source : null } };
}

export function checkProfileDeletion(body: unknown): Checked<DeletionWrite> {
  const problems: Problem[] = [];
  const data = resource(body, "data-privacy-deletion-job", problems);
  if (!data) return { ok: false, problems };
  const profile = isObject(data.attributes) && isObject(data.attributes.profile) && isObject(data.attributes.profile.data) ? data.attributes.profile.data : null;
  if (!profile || profile.type !== "profile" || !isObject(profile.attributes)) {
    problems.push({ detail: "`profile` must hold a resource of type 'profile' with attributes.", pointer: "/data/attributes/profile/data" });
    return { ok: false, problems };
  }
  const email = typeof profile.attributes.email === "string" ? profile.attributes.email : null;
  const phoneNumber = typeof profile.attributes.phone_number === "string" ? profile.attributes.phone_number : null;
  const profileId = typeof profile.id === "string" ? profile.id : null;
  const given = [email, phoneNumber, profileId].filter((v) => v !== null).length;
  if (given !== 1) problems.push({ detail: "Exactly one of email, phone_number or id must identify the profile.", pointer: "/data/attributes/profile/data" });
  if (email !== null && !EMAIL.test(email)) problems.push({ detail: `Invalid email address: ${email}`, pointer: "/data/attributes/profile/data/attributes/email" });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { email, phoneNumber, profileId } };
}
