import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { checkKey } from "../api/plugins";
import { clearApiKey, setApiKey } from "../api/session";
import { useAuth } from "../auth";

export function SignInPage() {
  const { signIn, message } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Enter an API key.");
      return;
    }
    setBusy(true);
    setError(null);
    setApiKey(trimmed); // checkKey sends it
    try {
      await checkKey();
      signIn(trimmed);
      navigate(from === "/sign-in" ? "/" : from, { replace: true });
    } catch (err) {
      clearApiKey();
      setError(err instanceof ApiError && err.status === 401 ? "That API key was refused." : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  }

  const shown = error ?? message;
  return (
    <main className="sign-in">
      <h1>Sign in to ClipForge</h1>
      {shown && (
        <p role="alert" className="error">
          {shown}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby="api-key-hint"
          autoFocus
        />
        <p id="api-key-hint" className="hint">
          Kept for this browser tab only, and sent with every request.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
