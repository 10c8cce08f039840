import { api, ApiError, unwrap } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Clip = Schemas["ClipOut"];
export type ClipPage = Schemas["Page_ClipOut_"];
export type ClipStatus = Schemas["ClipStatus"];
export type ClipSort = Schemas["ClipSort"];
export type SortOrder = Schemas["SortOrder"];
export type ClipUpdate = Schemas["ClipUpdate"];
export type Processing = Schemas["ProcessingOut"];
export type PluginRun = Schemas["PluginRunOut"];
export type ProcessingRun = Schemas["ProcessingRunOut"];

/** Every value of a string union, checked both ways: a value added to the API breaks the build here. */
function allOf<T extends string>() {
  return <const A extends readonly T[]>(values: A & ([T] extends [A[number]] ? unknown : never)) => values;
}

export const CLIP_STATUSES = allOf<ClipStatus>()(["pending", "processing", "completed", "completed_with_errors", "failed"]);
export const CLIP_SORTS = allOf<ClipSort>()(["created_at", "recorded_at", "title", "duration"]);
export const SORT_ORDERS = allOf<SortOrder>()(["desc", "asc"]);

/** Statuses a clip leaves only when it is reprocessed: polling for changes can stop. */
const FINAL: ReadonlySet<string> = new Set<ClipStatus>(["completed", "completed_with_errors", "failed"]);

export function isFinal(status: string | undefined): boolean {
  return status !== undefined && FINAL.has(status);
}

export function isClipStatus(value: string | null | undefined): value is ClipStatus {
  return (CLIP_STATUSES as readonly string[]).includes(value ?? "");
}

export interface ClipFilters {
  game_name?: string;
  status?: ClipStatus;
  tag?: string;
  q?: string;
  sort?: ClipSort;
  order?: SortOrder;
}

export const clipKeys = {
  all: ["clips"] as const,
  lists: () => ["clips", "list"] as const,
  list: (filters: ClipFilters, offset: number, limit: number) => ["clips", "list", filters, offset, limit] as const,
  one: (id: string) => ["clips", "one", id] as const,
  processing: (id: string) => ["clips", "one", id, "processing"] as const,
  storyboard: (id: string, version: string) => ["clips", "one", id, "storyboard", version] as const,
};

export function listClips(filters: ClipFilters, offset: number, limit: number, signal?: AbortSignal): Promise<ClipPage> {
  return unwrap(api.GET("/api/v1/clips", { params: { query: { ...filters, offset, limit } }, signal }));
}

export function getClip(id: string, signal?: AbortSignal): Promise<Clip> {
  return unwrap(api.GET("/api/v1/clips/{clip_id}", { params: { path: { clip_id: id } }, signal }));
}

export function getProcessing(id: string, signal?: AbortSignal): Promise<Processing> {
  return unwrap(api.GET("/api/v1/clips/{clip_id}/processing", { params: { path: { clip_id: id } }, signal }));
}

export function updateClip(id: string, body: ClipUpdate): Promise<Clip> {
  return unwrap(api.PUT("/api/v1/clips/{clip_id}", { params: { path: { clip_id: id } }, body }));
}

export async function deleteClip(id: string): Promise<void> {
  await unwrap(api.DELETE("/api/v1/clips/{clip_id}", { params: { path: { clip_id: id } } }));
}

export function reprocessClip(id: string): Promise<Schemas["ReprocessOut"]> {
  return unwrap(api.POST("/api/v1/clips/{clip_id}/reprocess", { params: { path: { clip_id: id } } }));
}

// -- plugin results, as the plugins in /plugins write them -----------------------------------------

/** A clip's plugin results: `metadata.plugins.<plugin name>`. */
export function pluginResults(clip: Clip): Record<string, Record<string, unknown>> {
  const plugins = clip.metadata?.plugins;
  if (!isObject(plugins)) return {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, result] of Object.entries(plugins)) if (isObject(result)) out[name] = result;
  return out;
}

/** One moment `highlight_detector` found: `timestamp` in seconds, `confidence` 0–1. */
export interface Highlight {
  timestamp: number;
  confidence: number | null;
  kind: string | null;
}

export function highlightsOf(result: Record<string, unknown> | undefined): Highlight[] {
  const list = result?.highlights;
  if (!Array.isArray(list)) return [];
  return list.flatMap((h) =>
    isObject(h) && typeof h.timestamp === "number" && Number.isFinite(h.timestamp)
      ? [
          {
            timestamp: Math.max(0, h.timestamp),
            confidence: typeof h.confidence === "number" ? h.confidence : null,
            kind: typeof h.kind === "string" ? h.kind : null,
          },
        ]
      : [],
  );
}

/** The poster `thumbnails` made (the thumbnail route 404s until there is one). */
export interface Poster {
  width: number | null;
  height: number | null;
  timestamp: number | null;
}

export function posterOf(clip: Clip): Poster | null {
  const poster = pluginResults(clip).thumbnails?.poster;
  if (!isObject(poster) || typeof poster.file !== "string") return null;
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  return { width: num(poster.width), height: num(poster.height), timestamp: num(poster.timestamp) };
}

/** When the thumbnails run that made the storyboard reported: a new run may replace the files. */
export function storyboardVersion(clip: Clip): string | null {
  const thumbs = pluginResults(clip).thumbnails;
  if (!thumbs || !isObject(thumbs.storyboard)) return null;
  const run = thumbs._run;
  return isObject(run) && typeof run.at === "string" ? run.at : "1";
}

/** `GET /clips/{id}/storyboard`: where each tile is in the sprite (`sprite`: a URL path). */
export interface Storyboard {
  sprite: string;
  tile_width: number;
  tile_height: number;
  columns: number;
  rows: number;
  tiles: { timestamp: number; x: number; y: number; w: number; h: number }[];
}

export async function getStoryboard(id: string, signal?: AbortSignal): Promise<Storyboard | null> {
  const { data, error, response } = await api.GET("/api/v1/clips/{clip_id}/storyboard", {
    params: { path: { clip_id: id } },
    signal,
  });
  if (response.status === 404) return null; // none (yet): no previews, no error
  if (!response.ok) throw new ApiError(response.status, (error as { detail?: string } | undefined)?.detail);
  return parseStoryboard(data);
}

function parseStoryboard(data: unknown): Storyboard | null {
  if (!isObject(data) || typeof data.sprite !== "string" || !Array.isArray(data.tiles)) return null;
  const tiles = data.tiles.filter(
    (t): t is Storyboard["tiles"][number] =>
      isObject(t) && ["timestamp", "x", "y", "w", "h"].every((k) => typeof t[k] === "number"),
  );
  if (tiles.length === 0) return null;
  return {
    sprite: data.sprite,
    tile_width: Number(data.tile_width) || tiles[0].w,
    tile_height: Number(data.tile_height) || tiles[0].h,
    columns: Number(data.columns) || 1,
    rows: Number(data.rows) || 1,
    tiles,
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
