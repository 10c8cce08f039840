import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { ApiError } from "../api/client";
import { createKey, keyKeys, listKeys, revokeKey, type ApiKey, type CreatedKey, type Role } from "../api/keys";
import { CreateKeyForm } from "../components/keys/CreateKeyForm";
import { KeyTable } from "../components/keys/KeyTable";
import { NewKeySecret } from "../components/keys/NewKeySecret";
import "../components/keys/keys.css";

const ADMINS_ONLY = "Only an admin key can manage keys.";

function describe(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return ADMINS_ONLY;
  return error instanceof Error ? error.message : String(error);
}

export default function KeysPage() {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: keyKeys.all, queryFn: listKeys });
  // The secret lives here only, in memory, until dismissed: never in the query cache.
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revokeErrors, setRevokeErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  const create = useMutation({
    mutationFn: ({ name, role }: { name: string; role: Role }) => createKey(name, role),
    onMutate: () => setCreated(null),
    onSuccess: (key) => setCreated(key),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keyKeys.all }),
  });

  const revoke = useMutation({
    mutationFn: (key: ApiKey) => revokeKey(key.id),
    onMutate: (key) => setRevokeErrors(({ [key.id]: _dropped, ...rest }) => rest),
    onSuccess: (_, key) => {
      queryClient.setQueryData<ApiKey[]>(keyKeys.all, (list) => list?.filter((k) => k.id !== key.id));
      setStatus(`Key “${key.name}” revoked.`);
      // Its row, and the focus with it, are gone: land on the list.
      listHeading.current?.focus();
    },
    onError: (error, key) => setRevokeErrors((e) => ({ ...e, [key.id]: describe(error) })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keyKeys.all }),
  });

  const forbidden = keys.error instanceof ApiError && keys.error.status === 403;
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {forbidden ? (
        <p role="alert" className="error">
          {ADMINS_ONLY}
        </p>
      ) : (
        <>
          {created && <NewKeySecret created={created} onDismiss={() => setCreated(null)} />}
          <CreateKeyForm busy={create.isPending} onCreate={(name, role) => create.mutateAsync({ name, role })} />
          {create.isError && (
            <p role="alert" className="error">
              Could not create the key: {describe(create.error)}
            </p>
          )}
          <h2 id="keys-list-title" ref={listHeading} tabIndex={-1}>
            Keys
          </h2>
          <p role="status">{status}</p>
          {keys.isPending && <p role="status">Loading keys…</p>}
          {keys.isError && (
            <p role="alert" className="error">
              Could not load the keys: {describe(keys.error)}
            </p>
          )}
          {keys.data && <KeyTable keys={keys.data} onRevoke={(key) => revoke.mutateAsync(key)} errors={revokeErrors} />}
        </>
      )}
    </section>
  );
}
