import type { BodyEncoding } from "./definition";

/**
 * What a rendered body must look like to be sent: JSON that parses, or form fields that a receiver
 * will split the way the merchant meant. A body that fails here is never sent: a receiver would reject
 * it (or worse, store half of it).
 */

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function jsonProblem(body: string): string | undefined {
  if (body.trim() === "") return "The body is empty: a JSON body needs at least {}";
  try {
    JSON.parse(body);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = message.match(/position (\d+)/);
    const where = at ? (({ line, column }) => ` at line ${line}, column ${column} of the rendered body`)(lineAndColumn(body, Number(at[1]))) : "";
    return `The body does not render to valid JSON${where}: put text values through | json (for example "email": {{ email | json }}) rather than between quotes`;
  }
}

/** Characters a form body may hold as they are: RFC 3986 unreserved and sub-delimiters, : @ / ? and %. */
const FORM_CHARACTERS = /^[A-Za-z0-9\-._~!$'()*+,;=:@/?%&]*$/;

function formProblem(body: string): string | undefined {
  if (body === "") return undefined;
  if (!FORM_CHARACTERS.test(body)) {
    return "The body contains characters that must be encoded in a form (spaces, quotes, accents, #...): put every value through | url_encode";
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(body)) return "The body has a % that does not start an encoded character: put every value through | url_encode";
  for (const pair of body.split("&")) {
    if (pair === "") return "The body has an empty field (two & in a row, or an & at either end)";
    if (!pair.includes("=")) return `The body's field "${pair.slice(0, 40)}" has no = and value`;
    if (pair.startsWith("=")) return "The body has a field with a value but no name";
  }
  return undefined;
}

export function bodyProblem(body: string, encoding: BodyEncoding): string | undefined {
  return encoding === "json" ? jsonProblem(body) : formProblem(body);
}
