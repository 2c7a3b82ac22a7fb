/** How long, at most, an old signing secret may keep signing next to the new one after a rotation: 7 days. */
export const MAX_OVERLAP_HOURS = 7 * 24;

/** The overlap choices offered in the rotate dialog, in hours (0: the old secret stops at once). */
export const OVERLAP_CHOICES: readonly { hours: number; label: string }[] = [
  { hours: 0, label: "Stop the old secret now" },
  { hours: 1, label: "Keep both for 1 hour" },
  { hours: 24, label: "Keep both for 24 hours" },
  { hours: 72, label: "Keep both for 3 days" },
  { hours: MAX_OVERLAP_HOURS, label: "Keep both for 7 days" },
];
