import type { components } from "./schema";
import { api, unwrap, type ConfigRow, type Plugin } from "./client";

export type Backfill = components["schemas"]["BackfillOut"];
export type RunSummary = components["schemas"]["RunSummary"];
/**
 * `missing`: the clips that lack the plugin's result; `all`: every clip; `older_version`: the clips
 * whose result an older version made; `other_config`: those whose result was made with another
 * configuration than the plugin's current one for the clip's game.
 */
export type BackfillScope = NonNullable<components["schemas"]["BackfillRequest"]["scope"]>;

export const pluginKeys = {
  all: ["plugins"] as const,
  one: (id: number) => ["plugins", id] as const,
  config: (id: number) => ["plugins", id, "config"] as const,
  backfill: (id: number, backfillId: number) => ["plugins", id, "backfills", backfillId] as const,
};

export async function listPlugins(): Promise<Plugin[]> {
  const page = await unwrap(api.GET("/api/v1/plugins", { params: { query: { limit: 500 } } }));
  return page.items;
}

export function getPlugin(id: number): Promise<Plugin> {
  return unwrap(api.GET("/api/v1/plugins/{plugin_id}", { params: { path: { plugin_id: id } } }));
}

export function setPluginEnabled(id: number, enabled: boolean): Promise<Plugin> {
  const params = { params: { path: { plugin_id: id } } };
  return unwrap(
    enabled
      ? api.POST("/api/v1/plugins/{plugin_id}/enable", params)
      : api.POST("/api/v1/plugins/{plugin_id}/disable", params),
  );
}

export async function listConfig(id: number): Promise<ConfigRow[]> {
  const page = await unwrap(
    api.GET("/api/v1/plugins/{plugin_id}/config", {
      params: { path: { plugin_id: id }, query: { limit: 500 } },
    }),
  );
  return page.items;
}

/** What a save changes: keys to write, keys to remove. */
export interface ConfigChange {
  set: Record<string, unknown>;
  unset: string[];
}

/**
 * The change from the stored rows to the form's values, over the form's keys only: keys outside
 * the form (e.g. the runner's own `timeout_s`) are left alone. A key the form cleared is unset.
 */
export function configChange(existing: ConfigRow[], values: Record<string, unknown>, formKeys: string[]): ConfigChange {
  const byKey = new Map(existing.map((row) => [row.key, row]));
  const change: ConfigChange = { set: {}, unset: [] };
  for (const key of formKeys) {
    const row = byKey.get(key);
    const value = values[key];
    if (value === undefined) {
      if (row) change.unset.push(key);
    } else if (!row || JSON.stringify(row.value) !== JSON.stringify(value)) {
      change.set[key] = value;
    }
  }
  return change;
}

/**
 * Save the form's values in one call, which the API applies whole or not at all. Answers the
 * plugin's whole configuration after; a bad value is an ApiError (422, `loc: ["body", "set", key]`).
 */
export async function saveConfig(
  id: number,
  existing: ConfigRow[],
  values: Record<string, unknown>,
  formKeys: string[],
): Promise<ConfigRow[]> {
  const change = configChange(existing, values, formKeys);
  if (Object.keys(change.set).length === 0 && change.unset.length === 0) return existing;
  const page = await unwrap(
    api.PUT("/api/v1/plugins/{plugin_id}/config", {
      params: { path: { plugin_id: id } },
      body: change as components["schemas"]["ConfigChange"],
    }),
  );
  return page.items;
}

export type GameSelector = components["schemas"]["GameSelector"];
export type Scope = components["schemas"]["ScopeUpdate"];

/**
 * Limit the plugin to some games (`games: null`: every game) and set its per-game overrides; the
 * whole scope at once. A bad override is an ApiError (422, `loc: ["body", "game_config", game, key]`).
 */
export function saveScope(id: number, scope: Scope): Promise<Plugin> {
  return unwrap(api.PUT("/api/v1/plugins/{plugin_id}/scope", { params: { path: { plugin_id: id } }, body: scope }));
}

/** Run the plugin over existing clips; follow it with getBackfill. */
export async function startBackfill(id: number, scope: BackfillScope): Promise<Backfill> {
  return unwrap(
    api.POST("/api/v1/plugins/{plugin_id}/backfill", { params: { path: { plugin_id: id } }, body: { scope } }),
  );
}

export function getBackfill(id: number, backfillId: number): Promise<Backfill> {
  return unwrap(
    api.GET("/api/v1/plugins/{plugin_id}/backfills/{backfill_id}", {
      params: { path: { plugin_id: id, backfill_id: backfillId } },
    }),
  );
}

export function checkKey(): Promise<unknown> {
  return unwrap(api.GET("/api/v1/plugins", { params: { query: { limit: 1 } } }));
}
