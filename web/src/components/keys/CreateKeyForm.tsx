import { useState, type FormEvent } from "react";
import { ROLES, type Role } from "../../api/keys";

const ROLE_LABELS: Record<Role, string> = {
  viewer: "Viewer: reads",
  uploader: "Uploader: reads and adds clips",
  admin: "Admin: everything",
};

export interface CreateKeyFormProps {
  /** Resolves once the key is made; rejects (shown by the caller) if it is not. */
  onCreate(name: string, role: Role): Promise<unknown>;
  busy?: boolean;
}

export function CreateKeyForm({ onCreate, busy = false }: CreateKeyFormProps) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [invalid, setInvalid] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    try {
      await onCreate(name.trim(), role);
      setName("");
    } catch {
      /* the caller shows why; what was typed stays */
    }
  }

  return (
    <form className="key-form" onSubmit={submit} noValidate aria-labelledby="key-form-title">
      <h2 id="key-form-title">New key</h2>
      <div>
        <label htmlFor="key-name">Name</label>
        <input
          id="key-name"
          value={name}
          maxLength={100}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
          aria-invalid={invalid || undefined}
          aria-describedby={invalid ? "key-name-error key-name-hint" : "key-name-hint"}
        />
        <p id="key-name-hint" className="hint">
          What the key is for, e.g. “obs-uploader”.
        </p>
        {invalid && (
          <p id="key-name-error" className="error">
            Enter a name.
          </p>
        )}
      </div>
      <div>
        <label htmlFor="key-role">Role</label>
        <select id="key-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create key"}
      </button>
    </form>
  );
}
