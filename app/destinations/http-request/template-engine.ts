import { Context, Liquid, type Template } from "liquidjs";
import { HTTP_REQUEST_LIMITS } from "./definition";
import { NonDeterministicDateError, PRODUCT_FILTERS } from "./template-filters";

/**
 * The one Liquid environment merchant templates run in. Templates are untrusted input, so:
 *
 * - nothing outside the variables handed to a render is reachable: no file system (the tags that read
 *   other templates are removed and the file system refuses every read), no globals, no environment,
 *   only own properties of the variables (no `constructor`, no prototype);
 * - strict variables and strict filters, so a typo fails at save instead of sending an empty value;
 *   `if` and `default` may still test a field that a lead lacks (lenientIf);
 * - every render is bounded by counts (steps, allocations, output), plus a wall-clock backstop;
 * - dates are formatted in UTC with an English locale and "now" is refused, so the same lead renders
 *   to the same bytes on every machine and at every attempt.
 */

export type TemplateLimitName = "size" | "steps" | "allocations" | "output" | "time";

export interface TemplateErrorDetail {
  /** 1-based line in the template, when known. */
  line?: number;
  /** 1-based column in the line, when known. */
  column?: number;
  /** Set when a limit was exceeded. */
  limit?: TemplateLimitName;
}

/** A template that cannot be parsed or rendered, in words a merchant can act on. */
export class TemplateError extends Error {
  readonly line?: number;
  readonly column?: number;
  readonly limit?: TemplateLimitName;

  constructor(message: string, detail: TemplateErrorDetail = {}) {
    super(message);
    this.name = "TemplateError";
    this.line = detail.line;
    this.column = detail.column;
    this.limit = detail.limit;
  }
}

/** Tags that would read other templates (partials, layouts) from storage. */
const FILE_TAGS = ["include", "render", "layout", "block"];

const refuseFiles = () => {
  throw new Error("templates cannot read files");
};

const liquid = new Liquid({
  strictVariables: true,
  strictFilters: true,
  lenientIf: true,
  ownPropertyOnly: true,
  jsTruthy: false,
  globals: {},
  timezoneOffset: 0,
  locale: "en-US",
  // Never consulted while the file tags are gone; here so that re-adding one cannot read the disk.
  fs: {
    exists: async () => false,
    existsSync: () => false,
    readFile: async () => refuseFiles(),
    readFileSync: () => refuseFiles(),
    resolve: (_dir, file) => file,
    contains: async () => false,
    containsSync: () => false,
  },
  relativeReference: false,
  dynamicPartials: false,
  parseLimit: HTTP_REQUEST_LIMITS.maxBodyTemplateChars,
});
for (const tag of FILE_TAGS) delete liquid.tags[tag];
for (const [name, filter] of Object.entries(PRODUCT_FILTERS)) liquid.registerFilter(name, filter);
// Picks at random: the same lead must render to the same bytes at every attempt.
liquid.unregisterFilter("sample");

/** A parsed template, reusable across renders. */
export interface CompiledTemplate {
  readonly source: string;
  readonly templates: Template[];
  /** No Liquid in it: it renders to its own text, with no render needed. */
  readonly literal: boolean;
}

/** Parsed templates by source: a destination renders the same few templates for every lead. */
const compiled = new Map<string, CompiledTemplate>();
const MAX_CACHED_TEMPLATES = 512;

/**
 * Parses a template (or returns the cached parse). Throws TemplateError with the line and column of the
 * first problem.
 */
export function compileTemplate(source: string, maxChars: number): CompiledTemplate {
  if (source.length > maxChars) {
    throw new TemplateError(`The template is ${source.length.toLocaleString("en-US")} characters long; the limit is ${maxChars.toLocaleString("en-US")}`, { limit: "size" });
  }
  const cached = compiled.get(source);
  if (cached) return cached;
  let templates: Template[];
  try {
    templates = liquid.parse(source);
  } catch (error) {
    throw translateError(error);
  }
  const entry: CompiledTemplate = Object.freeze({ source, templates, literal: !/\{\{|\{%/.test(source) });
  if (compiled.size >= MAX_CACHED_TEMPLATES) compiled.delete(compiled.keys().next().value as string);
  compiled.set(source, entry);
  return entry;
}

class LimitExceeded extends Error {
  constructor(readonly limit: TemplateLimitName) {
    super(`${limit} limit exceeded`);
  }
}

/**
 * Counts render steps (liquidjs checks its render limit before every tag, output and loop turn), which
 * bounds the work deterministically, and checks the wall clock as a backstop.
 */
function stepLimiter(maxSteps: number, maxMs: number) {
  const deadline = performance.now() + maxMs;
  let steps = 0;
  return {
    check() {
      if (++steps > maxSteps) throw new LimitExceeded("steps");
      if (performance.now() > deadline) throw new LimitExceeded("time");
    },
  };
}

type RenderLimitOption = NonNullable<ConstructorParameters<typeof Context>[3]>["renderLimit"];

/** Renders a compiled template over `variables` (never modified). Throws TemplateError. */
export function renderTemplate(template: CompiledTemplate, variables: object, maxOutputChars: number): string {
  if (template.literal) return checkedOutput(template.source, maxOutputChars);
  // A copy, because `{% increment %}` writes into the variables it is given.
  const context = new Context(
    { ...variables },
    liquid.options,
    { sync: true, memoryLimit: HTTP_REQUEST_LIMITS.maxRenderAllocations },
    {
      liquid,
      renderLimit: stepLimiter(HTTP_REQUEST_LIMITS.maxRenderSteps, HTTP_REQUEST_LIMITS.maxRenderMs) as unknown as RenderLimitOption,
    },
  );
  let output: unknown;
  try {
    output = liquid.renderSync(template.templates, context);
  } catch (error) {
    throw translateError(error);
  }
  return checkedOutput(typeof output === "string" ? output : String(output ?? ""), maxOutputChars);
}

function checkedOutput(text: string, maxOutputChars: number): string {
  if (text.length > maxOutputChars) {
    throw new TemplateError(
      `It renders to ${text.length.toLocaleString("en-US")} characters; the limit is ${maxOutputChars.toLocaleString("en-US")}`,
      { limit: "output" },
    );
  }
  return text;
}

interface LiquidErrorShape {
  name?: string;
  message?: string;
  originalError?: unknown;
  token?: { getPosition?: () => [number, number] };
}

function innermost(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    const inner = (current as LiquidErrorShape | null)?.originalError;
    if (!inner) break;
    current = inner;
  }
  return current;
}

const LIMIT_WORDS: Record<TemplateLimitName, string> = {
  size: "the template is too long",
  steps: `the template does too much work for one lead (more than ${HTTP_REQUEST_LIMITS.maxRenderSteps.toLocaleString("en-US")} steps): look for a loop that runs too many times`,
  allocations: "the template builds too much text or too many items for one lead: look for a large range or a repeated filter in a loop",
  output: "the template renders too much text",
  time: `the template took longer than ${HTTP_REQUEST_LIMITS.maxRenderMs} ms to render`,
};

/** liquidjs's messages end with ", line:N, col:M" and name things the Liquid way; say it plainly. */
function plainWords(message: string): { text: string; limit?: TemplateLimitName } {
  const bare = message.replace(/, line:\d+, col:\d+$/, "");
  let m: RegExpMatchArray | null;
  if ((m = bare.match(/^undefined filter: (.+)$/))) return { text: `there is no filter called "${m[1]}"` };
  if ((m = bare.match(/^undefined variable: (.+)$/))) {
    return { text: `"${m[1]}" is not a field a template can use (see the field reference for the names)` };
  }
  if ((m = bare.match(/^tag "(.+)" not found$/))) {
    return FILE_TAGS.includes(m[1])
      ? { text: `the {% ${m[1]} %} tag is not available: a template cannot read other templates or files` }
      : { text: `there is no tag called "${m[1]}"` };
  }
  if ((m = bare.match(/^tag (.+) not closed$/))) return { text: `the tag ${m[1]} is opened but never closed` };
  if ((m = bare.match(/^output (.+) not closed$/))) return { text: `${m[1]} is not closed with }}` };
  if (/^memory alloc limit exceeded$/.test(bare)) return { text: LIMIT_WORDS.allocations, limit: "allocations" };
  if (/^template render limit exceeded$/.test(bare)) return { text: LIMIT_WORDS.time, limit: "time" };
  if (/^parse length limit exceeded$/.test(bare)) return { text: LIMIT_WORDS.size, limit: "size" };
  return { text: bare };
}

function translateError(error: unknown): TemplateError {
  const outer = error as LiquidErrorShape | null;
  const position = outer?.token?.getPosition?.();
  const [line, column] = Array.isArray(position) ? position : [undefined, undefined];
  const cause = innermost(error);
  let words: { text: string; limit?: TemplateLimitName };
  if (cause instanceof LimitExceeded) words = { text: LIMIT_WORDS[cause.limit], limit: cause.limit };
  else if (cause instanceof NonDeterministicDateError) words = { text: cause.message };
  else words = plainWords(String((cause as LiquidErrorShape | null)?.message ?? outer?.message ?? error));
  const where = line === undefined ? "" : column === undefined ? `Line ${line}: ` : `Line ${line}, column ${column}: `;
  const text = where ? `${where}${words.text}` : capitalise(words.text);
  return new TemplateError(text, { line, column, limit: words.limit });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The names of every filter a template may use, for the admin's help text. */
export function availableFilters(): string[] {
  return Object.keys(liquid.filters).sort();
}
