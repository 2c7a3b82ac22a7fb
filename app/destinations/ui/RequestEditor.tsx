import { useFetcher } from "@remix-run/react";
import {
  Badge, Banner, BlockStack, Box, Button, Card, Checkbox, InlineError, InlineStack, List, Select, Text, TextField,
} from "@shopify/polaris";
import { useEffect, useMemo, useRef, useState } from "react";
import { BODY_ENCODINGS, HTTP_REQUEST_LIMITS, HTTP_REQUEST_METHODS, type BodyEncoding, type HttpRequestMethod } from "../http-request/definition";
import { HTTP_REQUEST_PRESETS, findPreset, type HttpRequestPreset } from "../http-request/presets";
import type { DefinitionProblem } from "../http-request/render-request";
import type { RequestTestResult } from "../http-request/editor.server";
import {
  blankForm, definitionOf, headerKey, problemsOf, secretValuesOf, type EditorActionData, type EditorForm, type FormHeader,
} from "./request-editor-state";
import { SecretReveal } from "./SecretReveal";

const mono = { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", fontSize: 12 };
const PREVIEW_DELAY_MS = 400;

/**
 * The form of an HTTP-request destination, new or saved: a preset that fills it in from a few answers, the
 * request itself (method, URL, headers with secret ones masked, body template), a live preview of the exact
 * request on the shop's latest lead, "Send test" with the receiver's answer inline, and Save.
 */
export function RequestEditor(props: {
  mode: "new" | "edit";
  initial: EditorForm;
  /** Secret headers whose value is stored on the server (edit form). */
  storedSecretNames: readonly string[];
  initialPreset?: string | null;
  /** Where the merchant goes after saving a new destination, given its id. */
  destinationUrl: (id: string) => string;
}) {
  const { mode, storedSecretNames } = props;
  const [presetId, setPresetId] = useState<string>(mode === "new" && props.initialPreset && findPreset(props.initialPreset) ? props.initialPreset : "");
  const [form, setForm] = useState<EditorForm>(() => (presetId ? presetSkeleton(presetId) : props.initial));
  const preset = presetId ? findPreset(presetId) : undefined;
  const preview = useFetcher<EditorActionData>({ key: "request-preview" });
  const test = useFetcher<EditorActionData>({ key: "request-test" });
  const save = useFetcher<EditorActionData>({ key: "request-save" });

  const definitionJson = useMemo(() => JSON.stringify(definitionOf(form)), [form]);
  const secretsJson = useMemo(() => JSON.stringify(secretValuesOf(form, storedSecretNames)), [form, storedSecretNames]);
  const snapshot = `${definitionJson}\n${secretsJson}`;

  // The live preview: the form as it stands, a moment after the last change, never saved.
  const submitPreview = preview.submit;
  useEffect(() => {
    if (form.url.trim() === "") return;
    const timer = setTimeout(() => submitPreview({ intent: "preview", definition: definitionJson }, { method: "post" }), PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [definitionJson, form.url, submitPreview]);

  // Problems of a test or save are shown while the form is as it was sent.
  const sentWith = useRef<{ test?: string; save?: string }>({});
  const saveProblems = sentWith.current.save === snapshot ? problemsOf(save.data) : null;
  const testProblems = sentWith.current.test === snapshot ? problemsOf(test.data) : null;
  const previewProblems = problemsOf(preview.data);
  const problems = saveProblems ?? testProblems ?? previewProblems ?? [];
  const at = (field: string) => {
    const found = problems.filter((p) => p.field === field).map((p) => p.message);
    return found.length > 0 ? found.join(" ") : undefined;
  };
  const otherProblems = problems.filter((p) => !/^(url|body|method|bodyEncoding|headers\.\d+\.(name|value))$/.test(p.field));

  const saved = save.data && "destinationId" in save.data && save.data.ok ? save.data : null;
  const requestError = [save.data, test.data, preview.data].map((d) => (d && "error" in d ? d.error : null)).find(Boolean);

  const update = (change: Partial<EditorForm>) => setForm((current) => ({ ...current, ...change }));
  const updateHeader = (key: string, change: Partial<FormHeader>) =>
    setForm((current) => ({ ...current, headers: current.headers.map((h) => (h.key === key ? { ...h, ...change } : h)) }));

  if (saved) {
    return (
      <BlockStack gap="400">
        <SecretReveal actionData={saved.secret ? { intent: "connect", destinationId: saved.destinationId, secret: saved.secret } : undefined} />
        <Banner tone="success" title={`${form.name.trim() || "The destination"} is saved`}>
          <BlockStack gap="200">
            <Text as="p">
              Every new lead is now sent as this request. Each request also carries signature headers made with the signing secret
              above, so a receiver that can check signatures may verify that it comes from this app.
            </Text>
            <InlineStack>
              <Button variant="primary" url={props.destinationUrl(saved.destinationId)}>Continue to the destination</Button>
            </InlineStack>
          </BlockStack>
        </Banner>
      </BlockStack>
    );
  }

  return (
    <BlockStack gap="400">
      {mode === "new" ? (
        <PresetCard
          presetId={presetId}
          onPreset={(id) => {
            setPresetId(id);
            setForm(id ? presetSkeleton(id) : blankForm(""));
          }}
          preset={preset}
          onBuilt={(built) => setForm((current) => ({ ...built, name: current.name || built.name }))}
        />
      ) : null}

      <Card>
        <BlockStack gap="400">
          <Text as="h2" variant="headingMd">Request</Text>
          {preset ? (
            <Text as="p" tone="subdued">Filled in from your answers above. You can change any of it; changing an answer fills it in again.</Text>
          ) : null}
          <TextField label="Name" value={form.name} onChange={(name) => update({ name })} autoComplete="off" maxLength={60}
            helpText="How this destination is listed in the Leads tab." />
          <InlineStack gap="300" wrap={false} blockAlign="start">
            <div style={{ minWidth: 120 }}>
              <Select label="Method" options={HTTP_REQUEST_METHODS.map((m) => ({ label: m, value: m }))} value={form.method}
                onChange={(method) => update({ method: method as HttpRequestMethod })} error={at("method")} />
            </div>
            <div style={{ flex: 1 }}>
              <TextField label="URL" value={form.url} onChange={(url) => update({ url })} autoComplete="off" monospaced
                placeholder="https://api.example.com/contacts/{{ email | url_encode }}" error={at("url")}
                helpText="Must start with https://. Template variables such as {{ email | url_encode }} may be used in the path and query, never in the host." />
            </div>
          </InlineStack>

          <BlockStack gap="200">
            <Text as="h3" variant="headingSm">Headers</Text>
            <Text as="p" tone="subdued">
              Content-Type follows the body encoding and Idempotency-Key carries the delivery id: the app sets both. Tick Secret
              for an API key or token: it is stored encrypted and shown masked from then on.
            </Text>
            {form.headers.map((h, index) => (
              <HeaderRow key={h.key} header={h} index={index} mode={mode} nameError={at(`headers.${index}.name`)}
                valueError={at(`headers.${index}.value`)} onChange={(change) => updateHeader(h.key, change)}
                onRemove={() => update({ headers: form.headers.filter((x) => x.key !== h.key) })} />
            ))}
            <InlineStack>
              <Button disabled={form.headers.length >= HTTP_REQUEST_LIMITS.maxHeaders}
                onClick={() => update({ headers: [...form.headers, { key: headerKey(), name: "", secret: false, value: "", stored: false }] })}>
                Add header
              </Button>
            </InlineStack>
          </BlockStack>

          <Select label="Body encoding" value={form.bodyEncoding} error={at("bodyEncoding")}
            options={BODY_ENCODINGS.map((e) => ({ value: e, label: e === "json" ? "JSON (application/json)" : "Form (application/x-www-form-urlencoded)" }))}
            onChange={(bodyEncoding) => update({ bodyEncoding: bodyEncoding as BodyEncoding })} />
          <TextField label="Body template" value={form.body} onChange={(body) => update({ body })} autoComplete="off" multiline={12}
            monospaced spellCheck={false} error={at("body")}
            helpText={form.bodyEncoding === "json"
              ? "Liquid over the lead's fields (see the field reference below). Put text through | json, for example \"email\": {{ email | json }}."
              : "Liquid over the lead's fields, as name=value pairs joined by &. Put every value through | url_encode."} />
          {otherProblems.length > 0 ? (
            <Banner tone="critical" title="The request cannot be used yet">
              <List>{otherProblems.map((p) => <List.Item key={`${p.field}${p.message}`}>{p.message}</List.Item>)}</List>
            </Banner>
          ) : null}
          {requestError ? <InlineError message={requestError} fieldID="request-editor" /> : null}
          <InlineStack gap="200">
            <Button variant="primary" loading={save.state !== "idle"}
              onClick={() => {
                sentWith.current.save = snapshot;
                save.submit({ intent: "save", name: form.name, definition: definitionJson, secretValues: secretsJson }, { method: "post" });
              }}>
              {mode === "new" ? "Save destination" : "Save changes"}
            </Button>
          </InlineStack>
        </BlockStack>
      </Card>

      <Card>
        <BlockStack gap="300">
          <InlineStack align="space-between" blockAlign="center">
            <Text as="h2" variant="headingMd">Preview</Text>
            <Button loading={test.state !== "idle"} disabled={form.url.trim() === ""}
              onClick={() => {
                sentWith.current.test = snapshot;
                test.submit({ intent: "send_test", definition: definitionJson, secretValues: secretsJson }, { method: "post" });
              }}>
              Send test
            </Button>
          </InlineStack>
          <RequestPreview data={preview.data} loading={preview.state !== "idle"} empty={form.url.trim() === ""} />
          {/* A result is shown for the request as it was tested; a change to the form puts it away. */}
          <TestResult data={sentWith.current.test === snapshot && test.state === "idle" ? test.data : undefined} problems={testProblems} />
        </BlockStack>
      </Card>
    </BlockStack>
  );
}

/** The form while a preset's questions are not answered yet: named after the service, nothing else. */
function presetSkeleton(id: string): EditorForm {
  return { ...blankForm(findPreset(id)?.name ?? ""), url: "", body: "" };
}

function HeaderRow(props: {
  header: FormHeader;
  index: number;
  mode: "new" | "edit";
  nameError?: string;
  valueError?: string;
  onChange: (change: Partial<FormHeader>) => void;
  onRemove: () => void;
}) {
  const { header, index } = props;
  const keeps = header.secret && header.stored && header.value === "";
  return (
    <Box borderWidth="025" borderColor="border" borderRadius="200" padding="300">
      <BlockStack gap="200">
        <InlineStack gap="300" wrap={false} blockAlign="start">
          <div style={{ flex: 1 }}>
            <TextField label={`Header ${index + 1} name`} value={header.name} onChange={(name) => props.onChange({ name })} autoComplete="off"
              monospaced placeholder="Authorization" error={props.nameError} />
          </div>
          <div style={{ flex: 2 }}>
            <TextField label={`Header ${index + 1} value`} value={header.value} onChange={(value) => props.onChange({ value })}
              autoComplete={header.secret ? "new-password" : "off"} type={header.secret ? "password" : "text"} monospaced
              placeholder={keeps ? "•••••••• (stored; type to replace)" : header.secret ? "Bearer …" : "{{ shop }}"}
              error={props.valueError}
              helpText={header.secret
                ? keeps ? "The stored value is kept unless you type a new one." : "Sent exactly as typed; stored encrypted and never shown again."
                : "May use template variables."} />
          </div>
        </InlineStack>
        <InlineStack gap="300" blockAlign="center">
          <Checkbox label="Secret" checked={header.secret} onChange={(secret) => props.onChange({ secret, value: "" })} />
          <Button variant="plain" tone="critical" onClick={props.onRemove}>{`Remove header ${index + 1}`}</Button>
        </InlineStack>
      </BlockStack>
    </Box>
  );
}

function PresetCard(props: {
  presetId: string;
  preset: HttpRequestPreset | undefined;
  onPreset: (id: string) => void;
  onBuilt: (form: EditorForm) => void;
}) {
  const { preset } = props;
  return (
    <Card>
      <BlockStack gap="300">
        <Text as="h2" variant="headingMd">Start from</Text>
        <Select label="Service" value={props.presetId} onChange={props.onPreset}
          options={[{ label: "Blank request (any API)", value: "" }, ...HTTP_REQUEST_PRESETS.map((p) => ({ label: p.name, value: p.id }))]}
          helpText="Pick the service to send leads to: the request is filled in for you and only what is yours is asked." />
        {preset ? <PresetQuestions key={preset.id} preset={preset} onBuilt={props.onBuilt} /> : (
          <Text as="p" tone="subdued">Describe any HTTPS API call below; the preview shows exactly what each lead will send.</Text>
        )}
      </BlockStack>
    </Card>
  );
}

function PresetQuestions({ preset, onBuilt }: { preset: HttpRequestPreset; onBuilt: (form: EditorForm) => void }) {
  const [answers, setAnswers] = useState<Record<string, string>>(() =>
    Object.fromEntries(preset.questions.map((q) => [q.id, q.defaultValue ?? ""])));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const built = useMemo(() => preset.build(answers), [preset, answers]);
  const onBuiltRef = useRef(onBuilt);
  onBuiltRef.current = onBuilt;

  useEffect(() => {
    if (!built.ok) return;
    const { definition, secretValues } = built;
    onBuiltRef.current({
      name: preset.name,
      method: definition.method,
      url: definition.url,
      bodyEncoding: definition.bodyEncoding,
      body: definition.body,
      headers: definition.headers.map((h) => ({
        key: headerKey(), name: h.name, secret: h.secret, stored: false,
        value: h.secret ? secretValues[h.name] ?? "" : h.value,
      })),
    });
  }, [built, preset.name]);

  const problem = (id: string) => (built.ok || !touched[id] ? undefined : built.problems.filter((p) => p.question === id).map((p) => p.message).join(" ") || undefined);
  return (
    <BlockStack gap="300">
      <Text as="p">{preset.summary}</Text>
      <Text as="h3" variant="headingSm">Set-up steps</Text>
      <List type="number">{preset.setupSteps.map((step) => <List.Item key={step}>{step}</List.Item>)}</List>
      {preset.questions.map((q) => {
        const set = (value: string) => {
          setAnswers((current) => ({ ...current, [q.id]: value }));
          setTouched((current) => ({ ...current, [q.id]: true }));
        };
        if (q.kind === "choice") {
          return <Select key={q.id} label={q.label} helpText={q.help} value={answers[q.id] ?? ""} onChange={set}
            options={(q.choices ?? []).map((c) => ({ label: c.label, value: c.value }))} error={problem(q.id)} />;
        }
        return (
          <TextField key={q.id} label={q.label} helpText={q.help} value={answers[q.id] ?? ""} onChange={set} placeholder={q.placeholder}
            type={q.kind === "secret" ? "password" : q.kind === "url" ? "url" : "text"} autoComplete={q.kind === "secret" ? "new-password" : "off"}
            requiredIndicator={q.required} error={problem(q.id)} />
        );
      })}
      {built.ok ? <Badge tone="success">Request filled in below</Badge> : <Text as="p" tone="subdued">Answer the questions to fill in the request.</Text>}
    </BlockStack>
  );
}

function RequestPreview({ data, loading, empty }: { data: EditorActionData | undefined; loading: boolean; empty: boolean }) {
  if (empty) return <Text as="p" tone="subdued">Enter the URL to see the request each lead will send.</Text>;
  if (!data || data.intent !== "preview") return <Text as="p" tone="subdued">{loading ? "Preparing the preview…" : "The preview appears here."}</Text>;
  if (!("request" in data)) {
    const problems = problemsOf(data);
    return (
      <Banner tone="warning" title="This request cannot be sent as it is">
        <List>{(problems ?? []).map((p) => <List.Item key={`${p.field}${p.message}`}>{where(p)}{p.message}</List.Item>)}</List>
        {"error" in data ? <Text as="p">{String(data.error)}</Text> : null}
      </Banner>
    );
  }
  const { request } = data;
  return (
    <BlockStack gap="200">
      <Text as="p" tone="subdued">
        {data.basedOn === "latest_lead" ? "The exact request for your latest lead:" : "The exact request for a sample lead (you have no leads yet):"}
        {loading ? " updating…" : ""}
      </Text>
      <div data-testid="preview-request" style={{ ...mono, background: "#f6f6f7", borderRadius: 8, padding: 12, overflowX: "auto" }}>
        <div data-testid="preview-line"><strong>{request.method}</strong> {request.url}</div>
        <div data-testid="preview-headers" style={{ marginTop: 8 }}>
          {request.headers.map((h) => (
            <div key={h.name}>
              {h.name}: {h.value}{h.secret ? <span style={{ color: "#6d7175" }}> (secret)</span> : null}
            </div>
          ))}
        </div>
        <pre data-testid="preview-body" style={{ ...mono, margin: "8px 0 0", whiteSpace: "pre-wrap", wordBreak: "break-word" }}>{request.body}</pre>
      </div>
      <Text as="p" tone="subdued">
        Saved requests also carry the signature headers (x-tryoncloud-signature, webhook-signature and their timestamps) over this
        exact body.
      </Text>
    </BlockStack>
  );
}

function where(problem: DefinitionProblem): string {
  if (problem.field === "url") return "URL: ";
  if (problem.field === "body") return "Body: ";
  const header = problem.field.match(/^headers\.(\d+)\.(name|value)$/);
  return header ? `Header ${Number(header[1]) + 1} ${header[2]}: ` : "";
}

function TestResult({ data, problems }: { data: EditorActionData | undefined; problems: DefinitionProblem[] | null }) {
  if (problems) {
    return (
      <div data-testid="test-result">
        <Banner tone="critical" title="The test was not sent">
          <List>{problems.map((p) => <List.Item key={`${p.field}${p.message}`}>{where(p)}{p.message}</List.Item>)}</List>
        </Banner>
      </div>
    );
  }
  if (!data || data.intent !== "send_test" || !("result" in data)) return null;
  const result: RequestTestResult = data.result;
  const excerpt = result.responseExcerpt ? (
    <BlockStack gap="100">
      <Text as="p" tone="subdued">The receiver answered:</Text>
      <pre data-testid="test-excerpt" style={{ ...mono, margin: 0, padding: 8, background: "#f6f6f7", borderRadius: 6, whiteSpace: "pre-wrap", wordBreak: "break-word" }}>
        {result.responseExcerpt}
      </pre>
    </BlockStack>
  ) : null;
  if (result.ok) {
    return (
      <div data-testid="test-result">
        <Banner tone="success" title={`The receiver accepted the test: HTTP ${result.statusCode} in ${result.durationMs} ms`}>
          <BlockStack gap="200">
            <Text as="p">It was sent for a made-up shopper (test@example.com), marked as a test. Delete it on the receiver if it keeps it.</Text>
            {excerpt}
          </BlockStack>
        </Banner>
      </div>
    );
  }
  return (
    <div data-testid="test-result">
      <Banner tone="critical" title={result.statusCode ? `The receiver refused the test: HTTP ${result.statusCode}` : "The test did not reach the receiver"}>
        <BlockStack gap="200">
          <Text as="p">{result.message}{/[.!?]$/.test(result.message) ? "" : "."}</Text>
          {result.hint ? <Text as="p" fontWeight="semibold">{result.hint}{/[.!?]$/.test(result.hint) ? "" : "."}</Text> : null}
          {excerpt}
        </BlockStack>
      </Banner>
    </div>
  );
}
