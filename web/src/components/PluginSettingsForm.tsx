import Form from "@rjsf/core";
import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv2020 from "ajv/dist/2020";
import { useMemo, useState } from "react";
import type { ValidationEntry } from "../api/client";

type Values = Record<string, unknown>;

// The API checks configuration with JSON Schema draft 2020-12 (pydantic's dialect); so does the form,
// unless the schema names an older draft.
const validator2020 = customizeValidator<Values>({ AjvClass: Ajv2020 as never });
const validatorDefault = customizeValidator<Values>();

function validatorFor(schema: RJSFSchema) {
  const dialect = typeof schema.$schema === "string" ? schema.$schema : "";
  return /draft-0[4-7]/.test(dialect) ? validatorDefault : validator2020;
}

/**
 * The API's 422 entries as the form's error schema, so each message shows next to its field.
 * `loc` is `["body", "config", key, ...]` for schema errors, or `["body", "value", ...]` for a
 * single key's body (then `key` says which field it was).
 */
export function toErrorSchema(entries: ValidationEntry[], key?: string): ErrorSchema<Values> {
  const root: Record<string, unknown> = {};
  for (const entry of entries) {
    let path = entry.loc.map(String);
    if (path[0] === "body") path = path.slice(1);
    if (path[0] === "config") path = path.slice(1);
    else if (path[0] === "value" && key) path = [key, ...path.slice(1)];
    else if (path[0] === "key" && key) path = [key];
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

export function PluginSettingsForm({ schema, initial, onSave, serverErrors, saving = false }: PluginSettingsFormProps) {
  const [values, setValues] = useState<Values>(initial);
  const validator = useMemo(() => validatorFor(schema), [schema]);
  return (
    <Form<Values>
      schema={schema}
      validator={validator}
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
