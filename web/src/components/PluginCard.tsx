import { Link } from "react-router-dom";
import type { Plugin } from "../api/client";
import type { RunSummary } from "../api/plugins";
import "./plugins.css";

// `plugin_type` is free text (python, rust, cpp, go, ...): the usual ones get their proper names.
const TYPE_LABELS: Record<string, string> = {
  python: "Python",
  rust: "Rust",
  cpp: "C++",
  "c++": "C++",
  c: "C",
  go: "Go",
  native: "Native",
  wasm: "WebAssembly",
};

export function pluginTypeLabel(type: string): string {
  return TYPE_LABELS[type.toLowerCase()] ?? type;
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "Last 100 runs: 98 ok · 1 error · 1 timeout · median 12 ms", or "No runs yet". */
export function runSummaryText(runs: RunSummary | null | undefined): string {
  if (!runs || runs.runs === 0) return "No runs yet";
  const parts = [`${runs.ok} ok`, count(runs.error, "error"), count(runs.timeout, "timeout")];
  if (runs.skipped > 0) parts.push(`${runs.skipped} skipped`);
  if (runs.median_ms !== null) parts.push(`median ${duration(runs.median_ms)}`);
  return `Last ${count(runs.runs, "run")}: ${parts.join(" · ")}`;
}

export interface PluginCardProps {
  plugin: Plugin;
  onToggle(enabled: boolean): void;
  /** A toggle is on its way to the API. */
  pending?: boolean;
  /** The last toggle failed with this message. */
  error?: string | null;
}

export function PluginCard({ plugin, onToggle, pending = false, error = null }: PluginCardProps) {
  const switchId = `plugin-${plugin.id}-enabled`;
  const headingId = `plugin-${plugin.id}-name`;
  const runs = plugin.recent_runs;
  const failing = !!runs && runs.error + runs.timeout > 0;
  return (
    <article className="plugin-card" aria-labelledby={headingId}>
      <header className="plugin-card__header">
        <h2 id={headingId}>{plugin.display_name}</h2>
        <label className="switch" htmlFor={switchId}>
          {/* aria-disabled, not disabled, while the change is on its way: a disabled control drops keyboard focus. */}
          <input
            id={switchId}
            type="checkbox"
            role="switch"
            aria-label={`Enable ${plugin.display_name}`}
            checked={plugin.enabled}
            aria-disabled={pending || undefined}
            aria-busy={pending || undefined}
            onChange={(e) => {
              if (!pending) onToggle(e.target.checked);
            }}
          />
          <span aria-hidden="true">{plugin.enabled ? "Enabled" : "Disabled"}</span>
        </label>
      </header>
      <dl className="plugin-card__facts">
        <div>
          <dt>Version</dt>
          <dd>{plugin.version}</dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>{pluginTypeLabel(plugin.plugin_type)}</dd>
        </div>
        <div>
          <dt>Author</dt>
          <dd>{plugin.author ?? "—"}</dd>
        </div>
        <div>
          <dt>Source</dt>
          <dd>{plugin.source}</dd>
        </div>
      </dl>
      {plugin.description && <p className="plugin-card__description">{plugin.description}</p>}
      <p className={failing ? "plugin-card__runs plugin-card__runs--failing" : "plugin-card__runs"}>
        {runSummaryText(runs)}
      </p>
      {plugin.load_error && (
        <div role="alert" className="plugin-card__load-error">
          <strong>Load error</strong>
          <pre>{plugin.load_error}</pre>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <p>
        <Link to={`/plugins/${plugin.id}`} aria-label={`Settings for ${plugin.display_name}`}>
          Settings
        </Link>
      </p>
    </article>
  );
}
