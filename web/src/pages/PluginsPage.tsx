import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, type Plugin } from "../api/client";
import { listPlugins, pluginKeys, setPluginEnabled } from "../api/plugins";
import { PluginList } from "../components/PluginList";

function describe(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return "Only an admin key can enable or disable plugins.";
  return error instanceof Error ? error.message : String(error);
}

export function PluginsPage() {
  const queryClient = useQueryClient();
  const plugins = useQuery({ queryKey: pluginKeys.all, queryFn: listPlugins });
  const [errors, setErrors] = useState<Record<number, string>>({});

  const toggle = useMutation({
    mutationFn: ({ plugin, enabled }: { plugin: Plugin; enabled: boolean }) => setPluginEnabled(plugin.id, enabled),
    // The card flips at once; a failure puts it back.
    onMutate: async ({ plugin, enabled }) => {
      await queryClient.cancelQueries({ queryKey: pluginKeys.all });
      const previous = queryClient.getQueryData<Plugin[]>(pluginKeys.all);
      queryClient.setQueryData<Plugin[]>(pluginKeys.all, (list) =>
        list?.map((p) => (p.id === plugin.id ? { ...p, enabled } : p)),
      );
      setErrors(({ [plugin.id]: _dropped, ...rest }) => rest);
      return { previous };
    },
    onError: (error, { plugin }, context) => {
      if (context?.previous) queryClient.setQueryData(pluginKeys.all, context.previous);
      setErrors((e) => ({ ...e, [plugin.id]: describe(error) }));
    },
    // A change's answer carries no `recent_runs` (only reads do): keep the ones shown.
    onSuccess: (updated) => {
      const merge = (p: Plugin): Plugin => ({ ...p, ...updated, recent_runs: updated.recent_runs ?? p.recent_runs });
      queryClient.setQueryData<Plugin[]>(pluginKeys.all, (list) => list?.map((p) => (p.id === updated.id ? merge(p) : p)));
      queryClient.setQueryData<Plugin>(pluginKeys.one(updated.id), (p) => (p ? merge(p) : updated));
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: pluginKeys.all }),
  });

  return (
    <section aria-labelledby="plugins-title">
      <h1 id="plugins-title">Plugins</h1>
      {plugins.isPending && <p role="status">Loading plugins…</p>}
      {plugins.isError && (
        <p role="alert" className="error">
          Could not load the plugins: {describe(plugins.error)}
        </p>
      )}
      {plugins.data && (
        <PluginList
          plugins={plugins.data}
          onToggle={(plugin, enabled) => toggle.mutate({ plugin, enabled })}
          pendingId={toggle.isPending ? (toggle.variables?.plugin.id ?? null) : null}
          errors={errors}
        />
      )}
    </section>
  );
}
