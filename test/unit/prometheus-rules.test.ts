import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { metricLabelNames, metricsText } from "../../app/lib/metrics.server";

/**
 * ops/prometheus-rules.yml is only worth shipping if its expressions name metrics the app exports, with labels
 * those metrics have: a renamed metric would otherwise leave an alert that can never fire. The exported names
 * and labels come from a scrape of the app's registry.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Series Prometheus itself makes for every target, and the labels it adds to every series. */
const PROMETHEUS_OWN = new Map([["up", ["job", "instance"]]]);
const TARGET_LABELS = ["job", "instance"];
const PROMQL_WORDS = new Set([
  "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "by", "without", "and", "or", "unless", "bool", "on", "ignoring", "group_left", "group_right", "offset", "inf", "nan"]);

/** Every metric the registry exports (by the `# TYPE` lines of a scrape), with the label names its samples carry. */
async function exported(): Promise<Map<string, Set<string>>> {
  const { body } = await metricsText();
  const metrics = new Map<string, Set<string>>();
  for (const [, name, type] of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    metrics.set(name, new Set(type === "histogram" ? ["le"] : []));
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) metrics.set(name + suffix, new Set(["le"]));
  }
  return metrics;
}

/** The selectors of an expression: each metric name with the label names its matchers use. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  const found: { name: string; labels: string[] }[] = [];
  // Strings and range or offset durations first, so that nothing inside them reads as a name.
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  const pattern = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g;
  for (const match of text.matchAll(pattern)) {
    const [, name, matchers, call] = match;
    const start = match.index ?? 0;
    const before = text.slice(0, start).trimEnd();
    const inGrouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(before);
    if (call && !matchers) continue; // a function or an aggregation
    if (PROMQL_WORDS.has(name.toLowerCase()) || inGrouping) continue;
    const labels = matchers ? [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]) : [];
    found.push({ name, labels });
  }
  return found;
}

describe("ops/prometheus-rules.yml", () => {
  const file = readFileSync(path.join(ROOT, "ops/prometheus-rules.yml"), "utf8");
  const parsed = parse(file) as { groups: { name: string; rules: Rule[] }[] };
  const rules = parsed.groups.flatMap((g) => g.rules.map((rule) => ({ group: g.name, ...rule })));

  it("is a Prometheus rule file: named groups of alerts with an expression, a severity and a summary", () => {
    expect(parsed.groups.length).toBeGreaterThan(0);
    expect(new Set(parsed.groups.map((g) => g.name)).size).toBe(parsed.groups.length);
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Tryon[A-Za-z]+$/);
      expect(typeof rule.expr).toBe("string");
      expect(["critical", "warning", "info"]).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
      // Brackets balance: a cut or mistyped expression fails here rather than in Prometheus.
      const stack: string[] = [];
      for (const ch of rule.expr.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
        if ("([{".includes(ch)) stack.push(ch);
        else if (")]}".includes(ch)) expect(stack.pop(), `${rule.alert}: ${rule.expr}`).toBe({ ")": "(", "]": "[", "}": "{" }[ch]);
      }
      expect(stack, rule.alert).toEqual([]);
    }
  });

  it("names only metrics the app exports, with labels they carry, in every expression", async () => {
    const metrics = await exported();
    // A series appears in a scrape once it has a value; the labels a metric can carry come from its definition.
    for (const [name, labels] of metricLabelNames()) {
      for (const target of [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]) for (const label of labels) metrics.get(target)?.add(label);
    }
    const used = new Set<string>();
    for (const rule of rules) {
      const found = selectors(rule.expr);
      expect(found.length, `${rule.alert} names no metric`).toBeGreaterThan(0);
      for (const { name, labels } of found) {
        used.add(name);
        const known = metrics.get(name) ?? (PROMETHEUS_OWN.has(name) ? new Set(PROMETHEUS_OWN.get(name)) : undefined);
        expect(known, `${rule.alert}: ${name} is not exported by the app`).toBeDefined();
        for (const label of labels) {
          expect([...known!, ...TARGET_LABELS], `${rule.alert}: ${name} has no label ${label}`).toContain(label);
        }
      }
    }
    // The alerts the product needs are there: delivery failures, backlog age, capture errors, workers down, readiness.
    for (const name of ["tryon_deliveries_total", "tryon_queue_oldest_waiting_age_seconds", "tryon_capture_responses_total", "up", "tryon_ready"]) {
      expect(used, name).toContain(name);
    }
  });

  it("would catch a misspelt metric or label", async () => {
    const metrics = await exported();
    expect(metrics.has("tryon_delivery_total")).toBe(false);
    expect(selectors('sum by (queue) (rate(tryon_deliveries_total{outcome=~"a|b"}[5m])) / 2 > 0.5 and up{job="x"} == 0')).toEqual([
      { name: "tryon_deliveries_total", labels: ["outcome"] },
      { name: "up", labels: ["job"] },
    ]);
  });
});
