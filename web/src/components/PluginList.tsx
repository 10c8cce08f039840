import type { Plugin } from "../api/client";
import { PluginCard } from "./PluginCard";

export interface PluginListProps {
  plugins: Plugin[];
  onToggle(plugin: Plugin, enabled: boolean): void;
  pendingId?: number | null;
  errors?: Record<number, string>;
}

export function PluginList({ plugins, onToggle, pendingId = null, errors = {} }: PluginListProps) {
  if (plugins.length === 0) return <p>No plugins are registered yet.</p>;
  return (
    <ul className="plugin-list">
      {plugins.map((plugin) => (
        <li key={plugin.id}>
          <PluginCard
            plugin={plugin}
            onToggle={(enabled) => onToggle(plugin, enabled)}
            pending={pendingId === plugin.id}
            error={errors[plugin.id] ?? null}
          />
        </li>
      ))}
    </ul>
  );
}
