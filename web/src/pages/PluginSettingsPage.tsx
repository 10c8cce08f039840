import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { getPlugin, listConfig, pluginKeys, saveConfig, type SaveError } from "../api/plugins";
import { PluginSettingsForm, toErrorSchema } from "../components/PluginSettingsForm";

type Values = Record<string, unknown>;

export default function PluginSettingsPage() {
  const id = Number(useParams().id);
  const valid = Number.isInteger(id) && id >= 1;
  const queryClient = useQueryClient();
  const plugin = useQuery({ queryKey: pluginKeys.one(id), queryFn: () => getPlugin(id), enabled: valid });
  const config = useQuery({ queryKey: pluginKeys.config(id), queryFn: () => listConfig(id), enabled: valid });
  const [serverErrors, setServerErrors] = useState<ErrorSchema<Values> | undefined>();
  const [status, setStatus] = useState<string | null>(null);

  const schema = plugin.data?.metadata.config_schema as RJSFSchema | undefined;
  const formKeys = (values: Values) => [...new Set([...Object.keys(schema?.properties ?? {}), ...Object.keys(values)])];

  const save = useMutation({
    mutationFn: (values: Values) => saveConfig(id, config.data ?? [], values, formKeys(values)),
    onMutate: () => {
      setServerErrors(undefined);
      setStatus(null);
    },
    onSuccess: () => setStatus("Settings saved."),
    onError: (error: unknown) => {
      const { cause, key } = error as SaveError;
      if (cause instanceof ApiError && cause.status === 422) {
        setServerErrors(toErrorSchema(cause.entries, key));
        setStatus("The API refused the settings; see the messages by the fields.");
      } else if (cause instanceof ApiError && cause.status === 403) {
        setStatus("Only an admin key can change plugin settings.");
      } else {
        setStatus(`Could not save: ${(cause as Error)?.message ?? String(error)}`);
      }
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: pluginKeys.config(id) }),
  });

  if (!valid) return <p role="alert">No such plugin.</p>;
  if (plugin.isPending || config.isPending) return <p role="status">Loading…</p>;
  if (plugin.isError || config.isError) {
    const error = plugin.error ?? config.error;
    return (
      <p role="alert" className="error">
        {error instanceof ApiError && error.status === 403
          ? "Only an admin key can see plugin settings."
          : `Could not load the plugin: ${(error as Error).message}`}
      </p>
    );
  }

  const p = plugin.data;
  const initial: Values = {};
  const keys = new Set(Object.keys(schema?.properties ?? {}));
  for (const row of config.data) if (keys.has(row.key)) initial[row.key] = row.value;
  const others = config.data.filter((row) => !keys.has(row.key));

  return (
    <section aria-labelledby="settings-title">
      <p>
        <Link to="/plugins">← All plugins</Link>
      </p>
      <h1 id="settings-title">{p.display_name} settings</h1>
      <p role="status" aria-live="polite">
        {status}
      </p>
      {schema ? (
        <PluginSettingsForm
          key={config.dataUpdatedAt}
          schema={schema}
          initial={initial}
          onSave={(values) => save.mutate(values)}
          serverErrors={serverErrors}
          saving={save.isPending}
        />
      ) : (
        <p>This plugin declares no configuration schema, so there is nothing to edit here.</p>
      )}
      {others.length > 0 && (
        <>
          <h2>Other keys</h2>
          <p className="hint">Stored for this plugin but not part of its schema (e.g. the runner's limits).</p>
          <dl>
            {others.map((row) => (
              <div key={row.id}>
                <dt>{row.key}</dt>
                <dd>
                  <code>{JSON.stringify(row.value)}</code>
                </dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
