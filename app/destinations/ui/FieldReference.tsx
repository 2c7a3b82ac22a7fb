import { BlockStack, Card, Text } from "@shopify/polaris";
import type { FieldReferenceHelp } from "../http-request/editor-help.server";

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: 12 };
const cell = { padding: "6px 8px", borderBottom: "1px solid #e3e3e3", verticalAlign: "top" as const };

/**
 * Every field a template (or a webhook body) can use, with its type, meaning and the sample lead's value,
 * then the sample lead's JSON and the filters a template may use.
 */
export function FieldReference({ reference }: { reference: FieldReferenceHelp }) {
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Field reference</Text>
        <Text as="p">
          Write a field between double braces, such as {"{{ email | json }}"}. A webhook body carries the same fields under the
          same names. Fields marked “or empty” are empty when the lead has none: test them with {"{% if utm.source %}"}.
        </Text>
        <div data-testid="field-reference" style={{ overflowX: "auto" }}>
          <table style={{ width: "100%", borderCollapse: "collapse", fontSize: 13 }}>
            <thead>
              <tr>
                {["Field", "Type", "Meaning", "Sample value"].map((h) => (
                  <th key={h} scope="col" style={{ ...cell, textAlign: "left", fontWeight: 600 }}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {reference.fields.map((f) => (
                <tr key={f.name}>
                  <td style={{ ...cell, whiteSpace: "nowrap" }}><code style={mono}>{f.name}</code></td>
                  <td style={cell}>{f.type}</td>
                  <td style={cell}>{f.description}</td>
                  <td style={{ ...cell, maxWidth: 260 }}><code style={{ ...mono, wordBreak: "break-all" }}>{f.example}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Text as="h3" variant="headingSm">The sample lead as JSON ({"{{ lead | json }}"})</Text>
        <pre data-testid="sample-lead-json" style={{ ...mono, margin: 0, padding: 12, background: "#f6f6f7", borderRadius: 8, overflowX: "auto" }}>
          {reference.sampleJson}
        </pre>
        <Text as="p" tone="subdued">
          Filters: {reference.filters.join(", ")}.
        </Text>
      </BlockStack>
    </Card>
  );
}
