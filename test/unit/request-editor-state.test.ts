import { describe, expect, it } from "vitest";
import { validateHttpRequestDefinition } from "../../app/destinations/http-request";
import { blankForm, definitionOf, headerKey, secretValuesOf, type EditorForm, type FormHeader } from "../../app/destinations/ui/request-editor-state";

/** What the HTTP request form sends: the definition without secret values, and only the secret values to change. */

const header = (name: string, secret: boolean, value: string, stored = false): FormHeader => ({ key: headerKey(), name, secret, value, stored });

const form = (headers: FormHeader[]): EditorForm => ({ ...blankForm("CRM"), url: " https://api.example.com/contacts ", headers });

describe("the HTTP request form's payload", () => {
  it("sends secret headers without their value, plain headers with their template, and the URL trimmed", () => {
    const definition = definitionOf(form([header("Authorization", true, "Bearer sk_1"), header(" X-Source ", false, "{{ shop }}")]));
    expect(definition.url).toBe("https://api.example.com/contacts");
    expect(definition.headers).toEqual([{ name: "Authorization", secret: true }, { name: "X-Source", secret: false, value: "{{ shop }}" }]);
    expect(JSON.stringify(definition)).not.toContain("sk_1");
    expect(validateHttpRequestDefinition(definition).ok).toBe(true);
  });

  it("the blank form's body is a valid template", () => {
    expect(validateHttpRequestDefinition(definitionOf(form([]))).ok).toBe(true);
  });

  it("sends only typed secret values: a stored one left empty is kept, one removed, renamed or made plain is cleared", () => {
    const stored = ["Authorization", "X-Api-Key", "X-Old", "X-Token"];
    const values = secretValuesOf(form([
      header("Authorization", true, "", true), // kept: nothing typed
      header("X-Api-Key", true, "new-key", true), // replaced
      header("X-New", true, "renamed-value"), // X-Old renamed to X-New
      header("X-Token", false, "{{ shop }}"), // made plain
    ]), stored);
    expect(values).toEqual({ "X-Api-Key": "new-key", "X-New": "renamed-value", "X-Old": "", "X-Token": "" });
  });

  it("matches stored names without regard to case", () => {
    expect(secretValuesOf(form([header("authorization", true, "")]), ["Authorization"])).toEqual({});
  });
});
