/**
 * Deterministic, realistic-looking try-on leads for the benchmark: varied emails (mixed case, plus tags,
 * a few accents), about 200 products (a few titles that need CSV quoting or formula neutralising),
 * capture times spread over a year in capture order, UTM fields on part of the traffic.
 */

export interface BenchLead {
  id: string;
  email: string;
  emailSearch: string;
  productId: string;
  productTitle: string;
  productUrl: string;
  variantId: string | null;
  variantTitle: string | null;
  resultContext: string | null;
  consent: boolean;
  tagged: boolean;
  taggedAt: Date | null;
  customerId: string | null;
  taggingState: string;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  pageUrl: string | null;
  idempotencyKey: string | null;
  capturedAt: Date;
}

export interface BenchProduct {
  productId: string;
  title: string;
  url: string;
  handle: string;
}

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

const FIRST = [
  "anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "isla", "jack", "kate", "liam", "mia", "noah",
  "olivia", "paul", "quinn", "ruby", "sam", "tara", "umar", "vera", "will", "xena", "yusuf", "zoe", "amelie", "bruno",
  "carla", "dmitri", "elena", "farah", "giulia", "hana", "ines", "jonas", "kenji", "lucia", "marco", "nadia", "omar",
  "priya", "rafael", "sofia", "tomas", "ursula", "valentin", "wei", "ximena", "yara", "zain", "léa", "zoë", "chloé",
  "maría", "jürgen", "søren", "anaïs", "joão", "mateo",
];
const LAST = [
  "smith", "jones", "brown", "taylor", "wilson", "martin", "garcia", "muller", "rossi", "dubois", "novak", "kowalski",
  "jensen", "nakamura", "kim", "singh", "patel", "silva", "costa", "lopez", "fischer", "weber", "moreau", "bianchi",
  "santos", "ivanova", "larsen", "okafor", "mensah", "haddad", "cohen", "oconnor", "murphy", "walsh", "hughes", "evans",
  "clarke", "wright", "green", "baker", "hall", "allen", "young", "king", "scott", "adams", "nelson", "hill", "ramos",
  "reyes", "morales", "ortiz", "gruber", "hofer", "berg", "lund", "virtanen", "korhonen", "dahl", "eriksen",
];
const DOMAINS = [
  "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "hotmail.co.uk",
  "proton.me", "gmx.de", "web.de", "orange.fr", "libero.it", "example.org", "fastmail.com", "aol.com", "live.com",
];

const STYLES = ["Aviator", "Wayfarer", "Round", "Cat-eye", "Square", "Oversized", "Rimless", "Browline", "Geometric", "Shield"];
const MATERIALS = ["Acetate", "Titanium", "Gold", "Tortoiseshell", "Matte black", "Crystal", "Rose gold", "Horn"];
const KINDS = ["Sunglasses", "Frames", "Blue-light glasses", "Readers"];
/** Titles a merchant might really type that exercise CSV quoting and formula neutralising. */
const AWKWARD_TITLES = [
  'Frames, "Bold" edition',
  "Round, tortoiseshell (limited)",
  'The "Classic" Wayfarer',
  "=Vision 2.0 frames",
  "+Plus size aviators",
  "Two-line\nsummer edition",
  "-20% Clearance shades",
  "@home readers",
];
const VARIANTS = ["Small", "Medium", "Large", "Black / Small", "Black / Large", "Tortoise / Medium", "Gold, polarised", "Clear lens"];
const UTM_SOURCES = ["instagram", "facebook", "google", "tiktok", "newsletter", "pinterest", "+newsletter", "affiliate"];
const UTM_MEDIUMS = ["cpc", "social", "email", "paid_social", "referral"];
const UTM_CAMPAIGNS = ["summer_sale", "black_friday", "spring-drop", "retarget_q3", "launch, \"new\" frames", "holiday"];

export const STORE_HOST = "store.example";

export function makeProducts(count = 200, seed = 7): BenchProduct[] {
  const r = rng(seed);
  const products: BenchProduct[] = [];
  for (let i = 0; i < count; i++) {
    const title = i % 25 === 3 && i / 25 < AWKWARD_TITLES.length
      ? AWKWARD_TITLES[Math.floor(i / 25)]
      : `${pick(r, STYLES)} ${pick(r, MATERIALS)} ${pick(r, KINDS)} ${100 + i}`;
    const handle = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    products.push({ productId: String(8_000_000_000_000 + i * 7919), title, handle, url: `https://${STORE_HOST}/products/${handle}` });
  }
  return products;
}

const B36 = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A cuid-like id: "c", the capture time in base 36, then random characters (what capture would store). */
function leadId(r: () => number, at: number): string {
  let s = "c" + at.toString(36).padStart(9, "0");
  for (let i = 0; i < 15; i++) s += B36[Math.floor(r() * 36)];
  return s;
}

function email(r: () => number, n: number): string {
  const first = pick(r, FIRST);
  const last = pick(r, LAST);
  const domain = pick(r, DOMAINS);
  const shape = r();
  let local: string;
  if (shape < 0.3) local = `${first}.${last}`;
  else if (shape < 0.5) local = `${first}${last}${n % 1000}`;
  else if (shape < 0.65) local = `${first[0]}.${last}${n % 97}`;
  else if (shape < 0.8) local = `${first}_${n % 10_000}`;
  else if (shape < 0.9) local = `${first}.${last}+shop${n % 50}`;
  else if (shape < 0.995) local = `${last}.${first}${n % 500}`;
  else local = `-${first}${n % 100}`;
  let address = `${local}@${domain}`;
  if (r() < 0.2) address = address.replace(/(^|\.)([a-z])/g, (_m, dot: string, c: string) => dot + c.toUpperCase());
  return address;
}

/**
 * `count` leads for one shop, oldest first, capture times spread evenly (with random gaps) over the year
 * ending at `end`. Generated in batches so a million rows never sit in memory at once.
 */
export function* generateLeads(params: {
  count: number; products: BenchProduct[]; seed: number; end: Date; batchSize: number;
}): Generator<BenchLead[]> {
  const { count, products, seed, end, batchSize } = params;
  const r = rng(seed);
  const span = 365 * 86_400_000;
  const start = end.getTime() - span;
  const meanGap = span / count;
  let t = start;
  let batch: BenchLead[] = [];
  // Popularity follows a skewed curve: a few products get most try-ons, as in a real catalogue.
  const productAt = () => products[Math.min(products.length - 1, Math.floor(products.length * Math.pow(r(), 2.2)))];
  for (let n = 0; n < count; n++) {
    // Exponential gaps; every 50th lead shares its predecessor's millisecond, so ties on capturedAt exist.
    if (n % 50 !== 0) t += Math.max(1, Math.round(-Math.log(1 - r()) * meanGap));
    const capturedAt = new Date(Math.min(t, end.getTime()));
    const product = productAt();
    const address = email(r, n);
    const hasVariant = r() < 0.6;
    const variantIndex = Math.floor(r() * VARIANTS.length);
    const tagged = r() < 0.75;
    const utm = r() < 0.35;
    const consent = r() < 0.97;
    batch.push({
      id: leadId(r, capturedAt.getTime()),
      email: address,
      emailSearch: address.normalize("NFC").toLowerCase(),
      productId: product.productId,
      productTitle: product.title,
      productUrl: product.url,
      variantId: hasVariant ? String(45_000_000_000_000 + Number(product.productId.slice(-6)) * 10 + variantIndex) : null,
      variantTitle: hasVariant ? VARIANTS[variantIndex] : null,
      resultContext: r() < 0.5 ? `{"fit":"${r() < 0.5 ? "good" : "wide"}","faceShape":"${pick(r, ["oval", "round", "square", "heart"])}"}` : null,
      consent,
      tagged,
      taggedAt: tagged ? new Date(capturedAt.getTime() + 2_000) : null,
      customerId: tagged ? `gid://shopify/Customer/${7_000_000_000_000 + (n % 900_000)}` : null,
      // History, not work: the untagged ones were given up on, so no reconciler goes after a year of them.
      taggingState: tagged ? "done" : "failed",
      utmSource: utm ? pick(r, UTM_SOURCES) : null,
      utmMedium: utm ? pick(r, UTM_MEDIUMS) : null,
      utmCampaign: utm ? pick(r, UTM_CAMPAIGNS) : null,
      utmTerm: utm && r() < 0.3 ? pick(r, ["sunglasses", "aviator frames", "blue light", "readers +2.0"]) : null,
      utmContent: utm && r() < 0.2 ? pick(r, ["carousel_1", "story", "hero-banner"]) : null,
      pageUrl: r() < 0.9 ? `${product.url}${utm ? "?utm_source=x&utm_medium=y" : ""}` : null,
      idempotencyKey: r() < 0.95 ? `${seed.toString(36)}-${n.toString(36)}-${Math.floor(r() * 1e9).toString(36)}` : null,
      capturedAt,
    });
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
