import { useSyncExternalStore } from "react";
import { titleOf, uploadClip, type Clip, type UploadFields, type UploadHandle } from "../../api/uploads";

export type UploadState = "queued" | "uploading" | "created" | "duplicate" | "failed";

export interface UploadItem {
  id: number;
  fileName: string;
  title: string;
  state: UploadState;
  /** 0–100, of the bytes sent. */
  percent: number;
  clip?: Clip;
  /** For a duplicate: the clip the file already is. */
  clipId?: string | null;
  message?: string;
}

/** What every file added at once shares. */
export interface SharedFields {
  game_name?: string;
  tags?: string[];
}

export type Uploader = (
  file: File,
  fields: UploadFields,
  onProgress: (loaded: number, total: number) => void,
) => UploadHandle;

const FINISHED: UploadState[] = ["created", "duplicate", "failed"];

/**
 * Files waiting, going and gone: at most `concurrency` upload at once, the rest wait their turn.
 * An external store (subscribe / getSnapshot) so uploads carry on while the user looks elsewhere.
 */
export class UploadQueue {
  private items: UploadItem[] = [];
  private readonly waiting = new Map<number, { file: File; fields: UploadFields }>();
  private readonly running = new Map<number, UploadHandle>();
  private readonly listeners = new Set<() => void>();
  private nextId = 1;
  /** Told when the API refuses the key (the key is already forgotten). */
  onUnauthorized: ((message: string) => void) | null = null;

  constructor(
    private readonly upload: Uploader = uploadClip,
    readonly concurrency = 2,
  ) {}

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  getSnapshot = (): UploadItem[] => this.items;

  add(files: Iterable<File>, shared: SharedFields = {}): void {
    const added: UploadItem[] = [];
    for (const file of files) {
      const id = this.nextId++;
      const title = titleOf(file.name);
      this.waiting.set(id, { file, fields: { title, ...shared } });
      added.push({ id, fileName: file.name, title, state: "queued", percent: 0 });
    }
    if (added.length === 0) return;
    this.items = [...this.items, ...added];
    this.pump();
    this.emit();
  }

  cancel(id: number): void {
    if (this.waiting.delete(id)) this.patch(id, { state: "failed", message: "Cancelled." });
    else this.running.get(id)?.abort();
  }

  clearFinished(): void {
    this.items = this.items.filter((item) => !FINISHED.includes(item.state));
    this.emit();
  }

  private pump(): void {
    for (const [id, { file, fields }] of this.waiting) {
      if (this.running.size >= this.concurrency) return;
      this.waiting.delete(id);
      this.start(id, file, fields);
    }
  }

  private start(id: number, file: File, fields: UploadFields): void {
    this.patch(id, { state: "uploading" }, false);
    const handle = this.upload(file, fields, (loaded, total) => {
      const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
      // Progress events come fast: only a new whole percent is news.
      if (percent !== this.items.find((item) => item.id === id)?.percent) this.patch(id, { percent });
    });
    this.running.set(id, handle);
    void handle.done.then((outcome) => {
      this.running.delete(id);
      if (outcome.kind === "created") this.patch(id, { state: "created", percent: 100, clip: outcome.clip }, false);
      else if (outcome.kind === "duplicate")
        this.patch(id, { state: "duplicate", clipId: outcome.clipId, message: outcome.message }, false);
      else this.patch(id, { state: "failed", message: outcome.message }, false);
      if (outcome.kind === "failed" && outcome.status === 401) this.refused(outcome.detail);
      this.pump();
      this.emit();
    });
  }

  /** The key was refused: the files still waiting would be refused too. */
  private refused(detail: string | undefined): void {
    for (const id of this.waiting.keys()) this.patch(id, { state: "failed", message: "Not sent: the API key was refused." }, false);
    this.waiting.clear();
    this.onUnauthorized?.(
      detail ? `The API refused the key: ${detail}. Sign in again.` : "Your API key was refused. Sign in again.",
    );
  }

  private patch(id: number, change: Partial<UploadItem>, emit = true): void {
    this.items = this.items.map((item) => (item.id === id ? { ...item, ...change } : item));
    if (emit) this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The app's one queue: it outlives the upload page, as its uploads do. */
export const uploads = new UploadQueue();

export function useUploadQueue(queue: UploadQueue): UploadItem[] {
  return useSyncExternalStore(queue.subscribe, queue.getSnapshot);
}
