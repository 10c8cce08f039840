import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { onUnauthorized } from "./api/client";
import { clearApiKey, getApiKey, setApiKey } from "./api/session";

interface Auth {
  signedIn: boolean;
  /** Why the user was sent back to sign in, if they were. */
  message: string | null;
  signIn(key: string): void;
  signOut(message?: string): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [signedIn, setSignedIn] = useState(() => getApiKey() !== null);
  const [message, setMessage] = useState<string | null>(null);

  const signOut = useCallback(
    (why?: string) => {
      clearApiKey();
      queryClient.clear();
      setMessage(why ?? null);
      setSignedIn(false);
    },
    [queryClient],
  );

  const signIn = useCallback((key: string) => {
    setApiKey(key);
    setMessage(null);
    setSignedIn(true);
  }, []);

  useEffect(() => {
    onUnauthorized((why) => signOut(why));
    return () => onUnauthorized(null);
  }, [signOut]);

  const value = useMemo(() => ({ signedIn, message, signIn, signOut }), [signedIn, message, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** Pages behind it need a key: without one the user goes to sign in (and comes back after). */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { signedIn } = useAuth();
  const location = useLocation();
  if (!signedIn) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}
