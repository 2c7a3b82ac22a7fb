import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { HTTP_REQUEST_LIMITS } from "../../app/destinations/http-request/definition";
import { sampleTemplateFields } from "../../app/destinations/http-request/field-reference";
import { availableFilters, compileTemplate, renderTemplate, TemplateError } from "../../app/destinations/http-request/template-engine";

/** The sandboxed Liquid environment: product filters, built-ins merchants need, limits, errors, isolation. */

function render(source: string, variables: object = sampleTemplateFields(), maxOutput = 100_000): string {
  return renderTemplate(compileTemplate(source, 100_000), variables, maxOutput);
}

function failure(source: string, variables: object = sampleTemplateFields(), maxOutput = 100_000): TemplateError {
  try {
    render(source, variables, maxOutput);
  } catch (error) {
    if (error instanceof TemplateError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail`);
}

describe("product filters", () => {
  it("md5: hex MD5 of the UTF-8 text, which with downcase is Mailchimp's subscriber hash", () => {
    expect(render("{{ email | downcase | md5 }}", { email: "Ana.Silva@Example.COM" })).toBe(createHash("md5").update("ana.silva@example.com").digest("hex"));
    expect(render("{{ v | md5 }}", { v: "café ☕" })).toBe(createHash("md5").update("café ☕", "utf8").digest("hex"));
    expect(render("{{ v | md5 }}", { v: null })).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(render("{{ v | md5 }}", { v: 42 })).toBe(createHash("md5").update("42").digest("hex"));
  });

  it("sha256: hex SHA-256 of the UTF-8 text", () => {
    expect(render("{{ v | sha256 }}", { v: "ünïcödé" })).toBe(createHash("sha256").update("ünïcödé", "utf8").digest("hex"));
    expect(render("{{ v | sha256 }}", { v: "" })).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("json: any value as JSON, so quotes, backslashes, line breaks and nil cannot break a JSON body", () => {
    const nasty = 'say "hi"\\ \n\t</script> \u2028 😀';
    expect(JSON.parse(render("{{ v | json }}", { v: nasty }))).toBe(nasty);
    expect(render("{{ v | json }}", { v: null })).toBe("null");
    expect(render("{{ missing | default: nil | json }}", {})).toBe("null");
    expect(render("{{ v | json }}", { v: true })).toBe("true");
    expect(render("{{ v | json }}", { v: 1.5 })).toBe("1.5");
    expect(JSON.parse(render("{{ v | json }}", { v: { a: [1, "b"], c: null } }))).toEqual({ a: [1, "b"], c: null });
    expect(render('{"email": {{ email | json }}}', { email: 'x"},"admin":true,"y":{"' })).toBe('{"email": "x\\"},\\"admin\\":true,\\"y\\":{\\""}');
  });

  it("slack_escape: & < > become entities, so text cannot become a link or a mention", () => {
    expect(render("{{ v | slack_escape }}", { v: "<!channel> & <https://evil.example|click>" })).toBe("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
  });

  it("built-ins merchants need: url_encode, downcase, date (in UTC, whatever the machine's zone)", () => {
    expect(render("{{ v | url_encode }}", { v: "a b&c=d+é@x" })).toBe("a+b%26c%3Dd%2B%C3%A9%40x");
    expect(render("{{ v | downcase }}", { v: "ÀBC" })).toBe("àbc");
    expect(render('{{ captured_at | date: "%Y-%m-%dT%H:%M:%S" }}')).toBe("2025-03-14T09:26:53");
    expect(render('{{ captured_at | date: "%s" }}')).toBe(String(Date.parse("2025-03-14T09:26:53Z") / 1000));
    expect(render('{{ captured_at | date: "%B %-d, %Y" }}')).toBe("March 14, 2025");
  });

  it('date: "now" and "today" are refused with a hint, since a delivery must render the same at every attempt', () => {
    for (const source of ['{{ "now" | date: "%Y" }}', '{{ "today" | date_to_xmlschema }}']) {
      expect(failure(source).message).toMatch(/Line 1, column 1: the date "now" changes every time .* use captured_at/);
    }
  });

  it("a filter that picks at random is not available", () => {
    expect(failure("{{ lead_id | split: '' | sample }}").message).toContain('there is no filter called "sample"');
    expect(availableFilters()).toEqual(expect.arrayContaining(["md5", "sha256", "json", "slack_escape", "url_encode", "downcase", "date"]));
    expect(availableFilters()).not.toContain("sample");
  });
});

describe("errors, with their line and column, in plain words", () => {
  it("an unknown filter", () => {
    const error = failure("{\n  \"a\": {{ email | md6 }}\n}");
    expect(error).toMatchObject({ line: 2, column: 8 });
    expect(error.message).toBe('Line 2, column 8: there is no filter called "md6"');
  });

  it("an unknown field (strict variables), also deep inside an object", () => {
    expect(failure("x\n\n   {{ emial }}").message).toBe('Line 3, column 7: "emial" is not a field a template can use (see the field reference for the names)');
    expect(failure("{{ product.titel }}")).toMatchObject({ line: 1, column: 4, message: expect.stringContaining('"product.titel" is not a field') });
  });

  it("a tag never closed, an output never closed, an unknown tag", () => {
    expect(failure("a\n{% if consent.given %}yes")).toMatchObject({ line: 2, column: 1, message: "Line 2, column 1: the tag {% if consent.given %} is opened but never closed" });
    expect(failure("{{ email ")).toMatchObject({ line: 1, message: expect.stringContaining("is not closed with }}") });
    expect(failure("{% frobnicate %}").message).toBe('Line 1, column 1: there is no tag called "frobnicate"');
  });

  it("a field a lead may lack can still be tested with if and default", () => {
    expect(render("{% if try_on.look %}{{ try_on.look }}{% else %}none{% endif %}|{{ try_on.look | default: 'n/a' }}", { try_on: {} })).toBe("none|n/a");
  });
});

describe("isolation: a template reaches only the variables it is given", () => {
  it("include, render and layout cannot read files", () => {
    for (const tag of ["include", "render", "layout"]) {
      expect(failure(`{% ${tag} '/etc/passwd' %}`).message).toBe(`Line 1, column 1: the {% ${tag} %} tag is not available: a template cannot read other templates or files`);
    }
  });

  it("no environment, process, globals or prototype properties", () => {
    process.env.TEMPLATE_PROBE = "leaked";
    try {
      for (const source of ["{{ env.TEMPLATE_PROBE }}", "{{ process.env }}", "{{ global }}", "{{ globalThis }}", "{{ email.constructor }}", "{{ product.__proto__ }}", "{{ lead.constructor.name }}"]) {
        expect(failure(source).message).toMatch(/is not a field a template can use/);
      }
    } finally {
      delete process.env.TEMPLATE_PROBE;
    }
  });

  it("rendering does not change the variables it is given, and gives the same text every time", () => {
    const fields = sampleTemplateFields();
    const before = JSON.stringify(fields);
    const source = "{% increment email %}{% assign shop = 'x' %}{% capture lead_id %}y{% endcapture %}{{ email }}{{ shop }}{{ lead_id }}";
    const first = render(source, fields);
    expect(render(source, fields)).toBe(first);
    expect(JSON.stringify(fields)).toBe(before);
  });
});

describe("limits", () => {
  it("template size: checked before parsing", () => {
    const error = (() => {
      try {
        compileTemplate("x".repeat(101), 100);
      } catch (e) {
        return e as TemplateError;
      }
      throw new Error("expected a failure");
    })();
    expect(error).toMatchObject({ limit: "size", message: "The template is 101 characters long; the limit is 100" });
  });

  it("render steps: a loop that runs too often stops, counted (not timed), so it fails the same on every machine", () => {
    const error = failure("{% for i in (1..20000) %}{{ i }}{% endfor %}");
    expect(error.limit).toBe("steps");
    expect(error.message).toMatch(/does too much work for one lead \(more than 10,000 steps\)/);
    // Just under the limit renders.
    expect(render(`{% for i in (1..${HTTP_REQUEST_LIMITS.maxRenderSteps / 2 - 10}) %}{% endfor %}done`)).toBe("done");
  });

  it("allocations: a template that builds huge text stops", () => {
    const error = failure("{% assign s = 'xxxxxxxxxx' %}{% for i in (1..60) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}");
    expect(error.limit).toBe("allocations");
    expect(error.message).toMatch(/builds too much text/);
  });

  it("output size: a render longer than the caller's limit fails", () => {
    const error = failure("{{ lead | json }}{{ lead | json }}", sampleTemplateFields(), 500);
    expect(error.limit).toBe("output");
    expect(error.message).toMatch(/^It renders to [\d,]+ characters; the limit is 500$/);
  });

  it("time: a backstop well above what the step limit allows", () => {
    // The step limit alone must stop a slow loop long before the time limit on any machine.
    const started = performance.now();
    failure("{% for i in (1..1000000) %}{% endfor %}");
    expect(performance.now() - started).toBeLessThan(HTTP_REQUEST_LIMITS.maxRenderMs);
  });
});
