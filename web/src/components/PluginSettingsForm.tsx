// The Form itself, not the package index: that also exports `getTestRegistry`, which imports
// @rjsf/validator-ajv8 (rjsf-team/react-jsonschema-form#5295), and Ajv is what this form must not load.
import Form from "@rjsf/core/lib/components/Form.js";
import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import { useState } from "react";
import type { ValidationEntry } from "../api/client";
import { settingsValidator } from "./settingsValidator";

type Values = Record<string, unknown>;

// The API checks configuration with JSON Schema draft 2020-12 (pydantic's dialect); so does the form,
// unless the schema names an older draft. The validator interprets schemas rather than compiling them
// with `new Function` as Ajv does, which the app's Content-Security-Policy (no 'unsafe-eval') forbids.

/**
 * The API's 422 entries as the form's error schema, so each message shows next to its field.
 * `loc` is `["body", "set", key, ...]` for a bad value (`"config"` in older answers); anything
 * else (e.g. `["body", "unset", 0]`) shows above the form.
 */
export function toErrorSchema(entries: ValidationEntry[]): ErrorSchema<Values> {
  const root: Record<string, unknown> = {};
  for (const entry of entries) {
    let path = entry.loc.map(String);
    if (path[0] === "body") path = path.slice(1);
    path = path[0] === "set" || path[0] === "config" ? path.slice(1) : [];
    let node = root;
    for (const part of path) {
      node = (node[part] ??= {}) as Record<string, unknown>;
    }
    ((node.__errors ??= []) as string[]).push(entry.msg);
  }
  return root as ErrorSchema<Values>;
}

export interface PluginSettingsFormProps {
  schema: RJSFSchema;
  initial: Values;
  /** Called with valid values only. */
  onSave(values: Values): void | Promise<void>;
  serverErrors?: ErrorSchema<Values>;
  saving?: boolean;
}

/**
 * The fields in the order the plugin declared them: the registry keeps schemas as JSONB, which
 * reorders an object's keys, so the SDK writes the order down as `x-order`.
 */
export function fieldOrder(schema: RJSFSchema): { "ui:order": string[] } | undefined {
  const order = (schema as { "x-order"?: unknown })["x-order"];
  const known = new Set(Object.keys(schema.properties ?? {}));
  if (!Array.isArray(order)) return undefined;
  return { "ui:order": [...order.filter((key): key is string => known.has(key as string)), "*"] };
}

export function PluginSettingsForm({ schema, initial, onSave, serverErrors, saving = false }: PluginSettingsFormProps) {
  const [values, setValues] = useState<Values>(initial);
  return (
    <Form<Values>
      schema={schema}
      uiSchema={fieldOrder(schema)}
      validator={settingsValidator}
      formData={values}
      onChange={(e) => setValues(e.formData ?? {})}
      onSubmit={(e) => void onSave(e.formData ?? {})}
      onError={() => undefined /* shown in the form; rjsf would also log them */}
      extraErrors={serverErrors}
      showErrorList="top"
      noHtml5Validate
      focusOnFirstError
    >
      <button type="submit" disabled={saving}>
        {saving ? "Saving…" : "Save settings"}
      </button>
    </Form>
  );
}
