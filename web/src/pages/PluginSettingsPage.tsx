import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, type Plugin, type ValidationEntry } from "../api/client";
import {
  getPlugin,
  listConfig,
  pluginKeys,
  saveConfig,
  saveScope,
  startBackfill,
  type BackfillScope,
  type Scope,
} from "../api/plugins";
import { BackfillProgress } from "../components/BackfillProgress";
import { GameScopeEditor } from "../components/GameScopeEditor";
import { PluginSettingsForm, toErrorSchema } from "../components/PluginSettingsForm";
import "./plugin-settings.css";

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

  // One call, applied whole or not at all: on a failure nothing changed, so the form keeps what was typed.
  const save = useMutation({
    mutationFn: (values: Values) => saveConfig(id, config.data ?? [], values, formKeys(values)),
    onMutate: () => {
      setServerErrors(undefined);
      setStatus(null);
    },
    onSuccess: (rows) => {
      queryClient.setQueryData(pluginKeys.config(id), rows);
      setStatus("Settings saved.");
    },
    onError: (error: unknown) => {
      if (error instanceof ApiError && error.status === 422 && error.entries.length > 0) {
        setServerErrors(toErrorSchema(error.entries));
        setStatus("The API refused the settings; see the messages by the fields. Nothing was saved.");
      } else if (error instanceof ApiError && error.status === 403) {
        setStatus("Only an admin key can change plugin settings.");
      } else {
        setStatus(`Could not save: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
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
      <Games plugin={p} updatedAt={plugin.dataUpdatedAt} />
      <Processing plugin={p} />
    </section>
  );
}

/** The games the plugin runs on, and its overrides per game: saved as one scope. */
function Games({ plugin, updatedAt }: { plugin: Plugin; updatedAt: number }) {
  const queryClient = useQueryClient();
  const [errors, setErrors] = useState<ValidationEntry[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (scope: Scope) => saveScope(plugin.id, scope),
    onMutate: () => {
      setErrors([]);
      setStatus(null);
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(pluginKeys.one(plugin.id), saved);
      setStatus(saved.games ? "Games saved." : "Games saved: it runs on every game.");
    },
    onError: (error: unknown) => {
      if (error instanceof ApiError && error.status === 422 && error.entries.length > 0) {
        setErrors(error.entries);
        setStatus("The API refused the games; nothing was saved.");
      } else {
        setStatus(`Could not save: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });
  return (
    <>
      <GameScopeEditor
        key={updatedAt}
        games={plugin.games}
        gameConfig={plugin.game_config}
        onSave={(scope) => save.mutate(scope)}
        errors={errors}
        saving={save.isPending}
      />
      <p role="status" aria-live="polite">
        {status}
      </p>
    </>
  );
}

function describeBackfillError(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return "Only an admin key can run a plugin over the clips.";
  // 409: the plugin is disabled; the API says so in its own words.
  if (error instanceof ApiError && error.status === 409) return error.message;
  return `Could not start: ${error instanceof Error ? error.message : String(error)}`;
}

/** Run the plugin over clips already stored, and follow it. */
function Processing({ plugin }: { plugin: Plugin }) {
  const start = useMutation({ mutationFn: (scope: BackfillScope) => startBackfill(plugin.id, scope) });
  const backfill = start.data;
  return (
    <section aria-labelledby="processing-title" className="processing">
      <h2 id="processing-title">Processing</h2>
      {!plugin.enabled && <p className="hint">The plugin is disabled: enable it to run it over the clips.</p>}
      <ul className="processing__actions">
        <li>
          <button type="button" aria-describedby="backfill-hint" disabled={start.isPending} onClick={() => start.mutate("missing")}>
            Backfill
          </button>{" "}
          <span id="backfill-hint" className="hint">
            Runs the plugin on the clips that lack its result.
          </span>
        </li>
        <li>
          <button type="button" aria-describedby="reprocess-hint" disabled={start.isPending} onClick={() => start.mutate("all")}>
            Reprocess all clips
          </button>{" "}
          <span id="reprocess-hint" className="hint">
            Runs it again on every clip, replacing its results.
          </span>
        </li>
        <li>
          <button type="button" aria-describedby="other-config-hint" disabled={start.isPending} onClick={() => start.mutate("other_config")}>
            Redo clips made with another configuration
          </button>{" "}
          <span id="other-config-hint" className="hint">
            Runs it again on the clips whose result was made with other settings than today's (for the clip's game).
          </span>
        </li>
      </ul>
      {start.isPending && <p role="status">Starting…</p>}
      {start.isError && (
        <p role="alert" className="error">
          {describeBackfillError(start.error)}
        </p>
      )}
      {backfill && <BackfillProgress key={backfill.id} started={backfill} />}
    </section>
  );
}
