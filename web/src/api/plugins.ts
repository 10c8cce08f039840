import { api, unwrap, type ConfigRow, type Plugin } from "./client";

export const pluginKeys = {
  all: ["plugins"] as const,
  one: (id: number) => ["plugins", id] as const,
  config: (id: number) => ["plugins", id, "config"] as const,
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

/** A failed save: which key's call failed, and the API's error. */
export class SaveError extends Error {
  constructor(
    readonly key: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "SaveError";
  }
}

/**
 * Save the form's values as key/value rows: changed keys are PUT, new keys POSTed, keys the form
 * cleared are deleted. Keys outside the form (e.g. the runner's own `timeout_s`) are left alone.
 * The calls run one by one; the first failure stops the save and is thrown.
 */
export async function saveConfig(
  id: number,
  existing: ConfigRow[],
  values: Record<string, unknown>,
  formKeys: string[],
): Promise<void> {
  const byKey = new Map(existing.map((row) => [row.key, row]));
  for (const key of formKeys) {
    try {
      await saveKey(id, key, byKey.get(key), values[key]);
    } catch (error) {
      throw new SaveError(key, error);
    }
  }
}

async function saveKey(id: number, key: string, row: ConfigRow | undefined, value: unknown): Promise<void> {
  if (value === undefined) {
    if (!row) return;
    await unwrap(
      api.DELETE("/api/v1/plugins/{plugin_id}/config/{config_id}", {
        params: { path: { plugin_id: id, config_id: row.id } },
      }),
    );
  } else if (!row) {
    await unwrap(
      api.POST("/api/v1/plugins/{plugin_id}/config", {
        params: { path: { plugin_id: id } },
        body: { key, value: value as never },
      }),
    );
  } else if (JSON.stringify(row.value) !== JSON.stringify(value)) {
    await unwrap(
      api.PUT("/api/v1/plugins/{plugin_id}/config/{config_id}", {
        params: { path: { plugin_id: id, config_id: row.id } },
        body: { value: value as never },
      }),
    );
  }
}

export function checkKey(): Promise<unknown> {
  return unwrap(api.GET("/api/v1/plugins", { params: { query: { limit: 1 } } }));
}
