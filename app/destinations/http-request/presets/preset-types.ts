import type { HttpRequestDefinition, SecretHeaderValues } from "../definition";

/**
 * A preset is a ready-made definition for a known receiver, filled in from the few answers that differ
 * per merchant. What it builds is an ordinary definition: the merchant can open and change any of it.
 * Answers are checked against the receiver's own formats before they are placed into a template, so an
 * answer can never add Liquid (or a second header line) to what is built.
 */

export type PresetId = "hubspot" | "mailchimp" | "brevo" | "slack" | "zapier" | "make" | "n8n";

export interface PresetQuestion {
  /** Key of the answer in `build(answers)`. */
  id: string;
  label: string;
  /** Where to find it, for a merchant with no developer. */
  help: string;
  /** `secret` answers are stored encrypted and shown masked; `choice` offers `choices`. */
  kind: "text" | "url" | "secret" | "choice";
  required: boolean;
  placeholder?: string;
  choices?: ReadonlyArray<{ value: string; label: string }>;
  /** Pre-filled answer. */
  defaultValue?: string;
}

export interface PresetProblem {
  /** The question the problem is about. */
  question: string;
  message: string;
}

export type PresetBuild =
  | { ok: true; definition: HttpRequestDefinition; secretValues: SecretHeaderValues }
  | { ok: false; problems: PresetProblem[] };

export interface HttpRequestPreset {
  id: PresetId;
  name: string;
  /** One sentence: what the merchant gets. */
  summary: string;
  /** The steps to set it up, in plain words, in order. */
  setupSteps: readonly string[];
  questions: readonly PresetQuestion[];
  build(answers: Readonly<Record<string, string | undefined>>): PresetBuild;
}

/** Reads answers against the questions, collecting every problem. */
export class AnswerReader {
  readonly problems: PresetProblem[] = [];

  constructor(
    private readonly questions: readonly PresetQuestion[],
    private readonly answers: Readonly<Record<string, string | undefined>>,
  ) {}

  /**
   * The trimmed answer when it matches `pattern`; otherwise notes `message` and returns "". An empty
   * optional answer is returned as "".
   */
  get(id: string, pattern: RegExp, message: string): string {
    const question = this.questions.find((q) => q.id === id);
    if (!question) throw new Error(`no question ${id}`);
    const value = (this.answers[id] ?? question.defaultValue ?? "").trim();
    if (value === "") {
      if (question.required) this.problems.push({ question: id, message: `Enter ${question.label.toLowerCase()}` });
      return "";
    }
    if (!pattern.test(value)) {
      this.problems.push({ question: id, message });
      return "";
    }
    return value;
  }
}

/**
 * A merchant's text placed inside a JSON string in a template: JSON-escaped, and refused when it holds
 * Liquid delimiters, which would turn it into template code.
 */
export const PLAIN_TEXT = /^[^{}%\r\n]{1,500}$/;

/** Printable ASCII with no spaces: API keys, tokens. */
export const TOKEN_TEXT = /^[\x21-\x7e]{8,512}$/;

/** A URL answer: https, and nothing a template would read as Liquid. */
export function parseHttpsUrl(value: string): URL | undefined {
  if (/[{}\s]/.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "https:" && !url.username && !url.password ? url : undefined;
  } catch {
    return undefined;
  }
}
