import { useEffect, useRef, useState } from "react";
import type { ApiKey } from "../../api/keys";

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export interface KeyTableProps {
  keys: ApiKey[];
  /** Resolves once the key is revoked. */
  onRevoke(key: ApiKey): Promise<unknown>;
  /** A revoke that failed, by key id. */
  errors?: Record<string, string>;
}

export function KeyTable({ keys, onRevoke, errors = {} }: KeyTableProps) {
  if (keys.length === 0) return <p>No keys yet.</p>;
  return (
    <table className="key-table">
      <caption className="visually-hidden">API keys</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Role</th>
          <th scope="col">Prefix</th>
          <th scope="col">Created</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {keys.map((key) => (
          <tr key={key.id}>
            <th scope="row">{key.name}</th>
            <td>{key.role}</td>
            <td>
              <code>{key.prefix}…</code>
            </td>
            <td>
              <time dateTime={key.created_at}>{when.format(new Date(key.created_at))}</time>
            </td>
            <td>
              <RevokeCell apiKey={key} onRevoke={onRevoke} error={errors[key.id]} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** "Revoke <name>", then a confirmation in place: revoking cannot be undone. */
function RevokeCell({ apiKey, onRevoke, error }: { apiKey: ApiKey; onRevoke: KeyTableProps["onRevoke"]; error?: string }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const revokeButton = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);

  // Back from the confirmation: focus returns to the button that opened it.
  useEffect(() => {
    if (!confirming && asked.current) revokeButton.current?.focus();
  }, [confirming]);

  async function revoke() {
    setBusy(true);
    try {
      await onRevoke(apiKey);
    } catch {
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <div className="revoke">
      {confirming ? (
        <div role="group" aria-labelledby={`revoke-q-${apiKey.id}`}>
          <p id={`revoke-q-${apiKey.id}`}>Revoke “{apiKey.name}”? Anything using it stops working at once.</p>
          <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
            Yes, revoke {apiKey.name}
          </button>{" "}
          <button type="button" className="link-button" disabled={busy} autoFocus onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button
          ref={revokeButton}
          type="button"
          className="link-button"
          onClick={() => {
            asked.current = true;
            setConfirming(true);
          }}
        >
          Revoke {apiKey.name}
        </button>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}
