import { z } from "zod";
import {
  BODY_ENCODINGS, HTTP_REQUEST_LIMITS, HTTP_REQUEST_METHODS,
  type HttpRequestDefinition, type SecretHeaderValues,
} from "./definition";
import { validationSamples } from "./field-reference";
import { headerNameProblem, headerValueProblem } from "./header-rules";
import { buildRequest, secretValueFor, templateProblem, type DefinitionProblem } from "./render-request";
import { compileTemplate } from "./template-engine";
import { splitUrlTemplate } from "./url-template";

/**
 * The check a definition passes before it is saved, so that a mistake shows in the form, with its line,
 * rather than in a worker at 3 a.m.: the shape of what was submitted, every template parses, the URL's
 * host is literal, header names and values are sendable, and the whole request renders, with a valid
 * body, for a full sample lead and for one with every optional field empty.
 */

const definitionSchema = z.object({
  method: z.enum(HTTP_REQUEST_METHODS, { errorMap: () => ({ message: "Choose POST, PUT or PATCH" }) }),
  url: z.string({ required_error: "Enter the URL", invalid_type_error: "Enter the URL" }),
  headers: z
    .array(
      z.discriminatedUnion("secret", [
        z.object({ name: z.string(), secret: z.literal(false), value: z.string() }),
        z.object({ name: z.string(), secret: z.literal(true) }),
      ], { errorMap: () => ({ message: "Each header needs a name and either a value or the secret mark" }) }),
    )
    .max(HTTP_REQUEST_LIMITS.maxHeaders, `At most ${HTTP_REQUEST_LIMITS.maxHeaders} headers`),
  bodyEncoding: z.enum(BODY_ENCODINGS, { errorMap: () => ({ message: "Choose JSON or form encoding for the body" }) }),
  body: z.string({ required_error: "Enter the body", invalid_type_error: "Enter the body" }),
});

export type DefinitionCheck = { ok: true; definition: HttpRequestDefinition } | { ok: false; problems: DefinitionProblem[] };

export interface ValidateOptions {
  /**
   * The secret header values as they will be stored (decrypted). When given, every secret header must
   * have a sendable one; when left out, secret values are not checked (they are kept from before).
   */
  secretValues?: SecretHeaderValues;
}

// Control characters other than tab and line breaks have no business in a template and hide in forms.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

function compileProblem(field: string, source: string, maxChars: number): DefinitionProblem | undefined {
  if (CONTROL.test(source)) return { field, message: "It contains an invisible control character: retype it" };
  try {
    compileTemplate(source, maxChars);
    return undefined;
  } catch (error) {
    return templateProblem(field, error);
  }
}

function staticProblems(definition: HttpRequestDefinition, options: ValidateOptions): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const split = splitUrlTemplate(definition.url);
  if (!split.ok) problems.push({ field: "url", message: split.problem });
  else {
    const problem = compileProblem("url", definition.url, HTTP_REQUEST_LIMITS.maxUrlTemplateChars);
    if (problem) problems.push(problem);
  }

  const seen = new Set<string>();
  definition.headers.forEach((header, index) => {
    const nameProblem = headerNameProblem(header.name);
    if (nameProblem) problems.push({ field: `headers.${index}.name`, message: nameProblem });
    else if (seen.has(header.name.toLowerCase())) {
      problems.push({ field: `headers.${index}.name`, message: `The ${header.name} header is set twice: keep one` });
    }
    seen.add(header.name.toLowerCase());
    const field = `headers.${index}.value`;
    if (!header.secret) {
      const problem = compileProblem(field, header.value, HTTP_REQUEST_LIMITS.maxHeaderTemplateChars);
      if (problem) problems.push(problem);
    } else if (options.secretValues) {
      const value = secretValueFor(options.secretValues, header.name);
      const problem = value ? headerValueProblem(value) : `Enter the secret value of the ${header.name} header`;
      // Never the value itself in the message.
      if (problem) problems.push({ field, message: value ? `The secret value: ${problem}` : problem });
    }
  });

  const bodyProblem = compileProblem("body", definition.body, HTTP_REQUEST_LIMITS.maxBodyTemplateChars);
  if (bodyProblem) problems.push(bodyProblem);
  return problems;
}

const SAMPLE_NAMES = ["the sample lead", "a lead with no variant, UTM tags, page or try-on details"];

/** Renders on each sample lead; reports each problem once, saying which sample showed it. */
function renderProblems(definition: HttpRequestDefinition, secretValues: SecretHeaderValues | undefined): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const seen = new Set<string>();
  validationSamples().forEach((fields, sample) => {
    const built = buildRequest(definition, fields, (name) => (secretValues ? secretValueFor(secretValues, name) : undefined) || "x");
    if (built.ok) return;
    for (const problem of built.problems) {
      const key = `${problem.field}\n${problem.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ ...problem, message: `${problem.message} (with ${SAMPLE_NAMES[sample]})` });
    }
  });
  return problems;
}

/** Problems in the order of the form: URL, headers top to bottom, body. */
function fieldOrder(definition: HttpRequestDefinition, field: string): number {
  if (field === "url") return 0;
  const header = field.match(/^headers\.(\d+)\.(name|value)$/);
  if (header) return 1 + Number(header[1]) * 2 + (header[2] === "value" ? 1 : 0);
  return 2 + definition.headers.length * 2;
}

export function validateHttpRequestDefinition(input: unknown, options: ValidateOptions = {}): DefinitionCheck {
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({ field: issue.path.join(".") || "definition", message: issue.message })),
    };
  }
  const definition: HttpRequestDefinition = parsed.data;
  const problems = staticProblems(definition, options);
  // Rendering finds what parsing cannot (unknown fields, invalid JSON): reported for the fields that
  // parsed, so one save shows every problem.
  const failedFields = new Set(problems.map((p) => p.field));
  const rendered = renderProblems(definition, options.secretValues).filter((p) => !failedFields.has(p.field));
  const all = [...problems, ...rendered].sort((a, b) => fieldOrder(definition, a.field) - fieldOrder(definition, b.field));
  return all.length > 0 ? { ok: false, problems: all } : { ok: true, definition };
}
