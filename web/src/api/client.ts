import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { clearApiKey, getApiKey } from "./session";

export type Plugin = components["schemas"]["PluginOut"];
export type ConfigRow = components["schemas"]["ConfigOut"];

/** One entry of a FastAPI-style 422 `detail` list. */
export interface ValidationEntry {
  loc: (string | number)[];
  msg: string;
  type?: string;
}

/** A non-2xx answer from the API, with its status and `detail` (a string, or 422 entries). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | ValidationEntry[] | undefined,
  ) {
    super(
      typeof detail === "string"
        ? detail
        : Array.isArray(detail)
          ? detail.map((d) => d.msg).join("; ")
          : `request failed (${status})`,
    );
    this.name = "ApiError";
  }

  get entries(): ValidationEntry[] {
    return Array.isArray(this.detail) ? this.detail : [];
  }
}

let unauthorizedHandler: ((message: string) => void) | null = null;

/** Called on any 401 (the key is cleared first), e.g. to send the user back to sign in. */
export function onUnauthorized(handler: ((message: string) => void) | null): void {
  unauthorizedHandler = handler;
}

const auth: Middleware = {
  onRequest({ request }) {
    const key = getApiKey();
    if (key) request.headers.set("Authorization", `Bearer ${key}`);
    return request;
  },
  async onResponse({ response }) {
    if (response.status === 401) {
      let detail = "";
      try {
        const body = (await response.clone().json()) as { detail?: unknown };
        if (typeof body.detail === "string") detail = body.detail;
      } catch {
        /* not JSON */
      }
      clearApiKey();
      unauthorizedHandler?.(
        detail ? `The API refused the key: ${detail}. Sign in again.` : "Your API key was refused. Sign in again.",
      );
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window !== "undefined" ? window.location.origin : "http://localhost",
});
api.use(auth);

/** The data of a successful call, or an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const detail = (error as { detail?: string | ValidationEntry[] } | undefined)?.detail;
    throw new ApiError(response.status, detail);
  }
  return data as T;
}
