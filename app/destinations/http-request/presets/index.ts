import { brevoPreset } from "./brevo";
import { makePreset, n8nPreset, zapierPreset } from "./catch-hooks";
import { hubspotPreset } from "./hubspot";
import { mailchimpPreset } from "./mailchimp";
import type { HttpRequestPreset, PresetBuild, PresetId } from "./preset-types";
import { slackPreset } from "./slack";

export type { HttpRequestPreset, PresetBuild, PresetId, PresetProblem, PresetQuestion } from "./preset-types";

/** Every preset, in the order the admin lists them. */
export const HTTP_REQUEST_PRESETS: readonly HttpRequestPreset[] = Object.freeze([
  hubspotPreset, mailchimpPreset, brevoPreset, slackPreset, zapierPreset, makePreset, n8nPreset,
]);

export function findPreset(id: string): HttpRequestPreset | undefined {
  return HTTP_REQUEST_PRESETS.find((preset) => preset.id === id);
}

/** Builds a preset's definition from the merchant's answers; an unknown preset is a problem, not a throw. */
export function buildPreset(id: PresetId | string, answers: Readonly<Record<string, string | undefined>>): PresetBuild {
  const preset = findPreset(id);
  if (!preset) return { ok: false, problems: [{ question: "preset", message: `There is no preset called ${id}` }] };
  return preset.build(answers);
}
