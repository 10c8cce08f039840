import type { components } from "./schema";
import { clearApiKey, getApiKey } from "./session";

export type Clip = components["schemas"]["ClipOut"];

export interface UploadFields {
  title: string;
  game_name?: string;
  tags?: string[];
}

export type UploadOutcome =
  | { kind: "created"; clip: Clip }
  /** The same file is already a clip (409): `clipId` is the one it is. */
  | { kind: "duplicate"; clipId: string | null; message: string }
  /** `status` 0: the request never got an answer (network, cancelled). `detail`: the API's own words, if any. */
  | { kind: "failed"; status: number; message: string; detail?: string };

export interface UploadHandle {
  done: Promise<UploadOutcome>;
  abort(): void;
}

/** The default title: the file's name without its extension. */
export function titleOf(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}

/** The clip id at the end of a `Location` such as `/api/v1/clips/<id>`. */
export function clipIdFrom(location: string | null): string | null {
  const id = location?.split("?")[0]?.split("/").filter(Boolean).pop();
  return id ? decodeURIComponent(id) : null;
}

/** The API's `detail`: a string, or 422 entries. */
function detailOf(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => (d as { msg?: string }).msg ?? String(d)).join("; ");
  return undefined;
}

function fallback(status: number): string {
  return status === 413 ? "The file is larger than the server accepts." : `The upload failed (${status}).`;
}

/**
 * Upload one video to `POST /api/v1/clips/upload`. XMLHttpRequest rather than fetch: only it reports
 * the upload's progress. A 401 forgets the key, as the API client does for its own calls.
 */
export function uploadClip(
  file: File,
  fields: UploadFields,
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<UploadOutcome>((resolve) => {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("title", fields.title);
    if (fields.game_name) form.append("game_name", fields.game_name);
    for (const tag of fields.tags ?? []) form.append("tags", tag);

    xhr.open("POST", "/api/v1/clips/upload");
    const key = getApiKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => resolve({ kind: "failed", status: 0, message: "The upload failed: the server could not be reached." });
    xhr.onabort = () => resolve({ kind: "failed", status: 0, message: "Cancelled." });
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON, e.g. a proxy's error page */
      }
      const detail = detailOf(body);
      const location = xhr.getResponseHeader("Location");
      if (xhr.status === 201) resolve({ kind: "created", clip: body as Clip });
      else if (xhr.status === 409 && location)
        resolve({ kind: "duplicate", clipId: clipIdFrom(location), message: detail ?? "This file is already a clip." });
      else {
        if (xhr.status === 401) clearApiKey();
        const message = xhr.status === 403 ? "Only an uploader or admin key can upload clips." : (detail ?? fallback(xhr.status));
        resolve({ kind: "failed", status: xhr.status, message, detail });
      }
    };
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
