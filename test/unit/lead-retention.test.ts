import { describe, expect, it } from "vitest";
import { leadCutoff, parseLeadRetention } from "../../app/retention/lead-retention";

describe("a shop's lead retention", () => {
  it.each([
    ["2026-11-20T12:00:00.000Z", 3, "2026-08-20T12:00:00.000Z"],
    ["2026-03-31T08:30:00.000Z", 1, "2026-02-28T08:30:00.000Z"],
    ["2028-03-31T00:00:00.000Z", 1, "2028-02-29T00:00:00.000Z"],
    ["2026-01-15T00:00:00.000Z", 13, "2024-12-15T00:00:00.000Z"],
    ["2026-05-31T23:59:59.999Z", 120, "2016-05-31T23:59:59.999Z"],
  ])("counts calendar months back from %s by %i to %s, never past a month's last day", (now, months, expected) => {
    expect(leadCutoff(new Date(now), months).toISOString()).toBe(expected);
  });

  it("reads the form: off, or a whole number of months from 1 to 120", () => {
    expect(parseLeadRetention("off")).toEqual({ ok: true, months: null });
    expect(parseLeadRetention("1")).toEqual({ ok: true, months: 1 });
    expect(parseLeadRetention("120")).toEqual({ ok: true, months: 120 });
    for (const bad of ["0", "121", "1e2", "3.0", " ", null, undefined, "OFF"]) {
      expect(parseLeadRetention(bad)).toMatchObject({ ok: false, error: expect.stringMatching(/months/) });
    }
  });
});
