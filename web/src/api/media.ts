import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "./client";

/*
 * `<video src>` and `<img src>` cannot send the key's header: media, posters and storyboard files
 * are read with a media token in `?access=` instead. One token serves every clip for an hour.
 */

export const mediaKeys = { token: ["media-token"] as const };

const STALE_MS = 30 * 60_000;
/** A new token is asked for at least this long before the old one expires. */
const MARGIN_MS = 5 * 60_000;

export function createMediaToken() {
  return unwrap(api.POST("/api/v1/media-token"));
}

/** The current media token (`access`), or null until there is one. */
export function useMediaAccess(): string | null {
  const token = useQuery({
    queryKey: mediaKeys.token,
    queryFn: createMediaToken,
    staleTime: STALE_MS,
    gcTime: Infinity,
    // Renewed in the background too: a hidden tab must not come back holding an expired token.
    refetchInterval: (query) => {
      const expires = query.state.data ? Date.parse(query.state.data.expires_at) : NaN;
      if (Number.isNaN(expires)) return false;
      return Math.max(30_000, Math.min(STALE_MS, expires - Date.now() - MARGIN_MS));
    },
    refetchIntervalInBackground: true,
    // After a sleep (timers paused) the token may be stale by the time the window is back.
    refetchOnWindowFocus: true,
  });
  return token.data?.access ?? null;
}

function clipPath(clipId: string): string {
  return `/api/v1/clips/${encodeURIComponent(clipId)}`;
}

/** `path` (maybe with a query already) with the media token appended. */
export function withAccess(path: string, access: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}access=${encodeURIComponent(access)}`;
}

/** The clip's file: served with HTTP Range, so the `<video>` seeks. */
export function mediaUrl(clipId: string, access: string): string {
  return withAccess(`${clipPath(clipId)}/media`, access);
}

/** The poster `thumbnails` made (404 until it has). */
export function posterUrl(clipId: string, access: string): string {
  return withAccess(`${clipPath(clipId)}/thumbnail`, access);
}

/** A storyboard file by the name its index gives (the sprite, the WebVTT). */
export function storyboardFileUrl(clipId: string, name: string, access: string): string {
  return withAccess(`${clipPath(clipId)}/storyboard/${encodeURIComponent(name)}`, access);
}
