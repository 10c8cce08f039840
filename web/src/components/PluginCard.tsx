import { Link } from "react-router-dom";
import type { Plugin } from "../api/client";

const TYPE_LABELS: Record<string, string> = { python: "Python", rust: "Rust", cpp: "C++" };

export function pluginTypeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type;
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
  return (
    <article className="plugin-card" aria-labelledby={headingId}>
      <header className="plugin-card__header">
        <h2 id={headingId}>{plugin.display_name}</h2>
        <label className="switch" htmlFor={switchId}>
          <input
            id={switchId}
            type="checkbox"
            role="switch"
            aria-label={`Enable ${plugin.display_name}`}
            checked={plugin.enabled}
            disabled={pending}
            aria-busy={pending || undefined}
            onChange={(e) => onToggle(e.target.checked)}
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
      {plugin.load_error && (
        <div className="plugin-card__load-error">
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
