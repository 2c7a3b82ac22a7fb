import { BlockStack, Card, DataTable, Text } from "@shopify/polaris";
import type { FieldReferenceHelp } from "../http-request/editor-help.server";

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: 12 };

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
        <div data-testid="field-reference">
          <DataTable
            columnContentTypes={["text", "text", "text", "text"]}
            headings={["Field", "Type", "Meaning", "Sample value"]}
            rows={reference.fields.map((f) => [
              <code key="name" style={mono}>{f.name}</code>,
              f.type,
              f.description,
              <code key="example" style={{ ...mono, wordBreak: "break-all" }}>{f.example}</code>,
            ])}
          />
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
