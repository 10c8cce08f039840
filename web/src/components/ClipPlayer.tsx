import { useEffect, useRef, useState, type CSSProperties, type RefObject } from "react";
import type { Highlight, Storyboard } from "../api/clips";
import { formatDuration } from "./clip/format";
import "./clip/player.css";

type Tile = Storyboard["tiles"][number];

/** The storyboard tile whose time is nearest `seconds` (the first of equals); null without tiles. */
export function nearestTile(tiles: readonly Tile[], seconds: number): Tile | null {
  let best: Tile | null = null;
  for (const tile of tiles) {
    if (best === null || Math.abs(tile.timestamp - seconds) < Math.abs(best.timestamp - seconds)) best = tile;
  }
  return best;
}

/** Where `seconds` sits along a timeline of `duration`, as a CSS percentage. */
export function timelinePosition(seconds: number, duration: number): string {
  const fraction = Math.min(1, Math.max(0, seconds / duration));
  return `${Number((fraction * 100).toFixed(3))}%`;
}

const KIND_LABELS: Record<string, string> = { loud: "Loud moment", scene_cut: "Scene cut", motion: "Motion" };

export function highlightKindLabel(kind: string | null): string {
  return kind ? (KIND_LABELS[kind] ?? kind.replace(/_/g, " ")) : "Highlight";
}

export interface ClipPlayerProps {
  /** The media URL (with its `access` token); null until there is a token. */
  src: string | null;
  poster?: string;
  /** The clip's duration in seconds; without one, the video's own once its metadata has loaded. */
  duration: number | null | undefined;
  highlights: readonly Highlight[];
  storyboard?: Storyboard | null;
  /** The storyboard sprite's URL (with its token). */
  spriteUrl?: string | null;
  /** The `<video>`, for others on the page to seek. */
  videoRef?: RefObject<HTMLVideoElement | null>;
}

function sameFile(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.split("?")[0] === b.split("?")[0];
}

interface Preview {
  tile: Tile;
  seconds: number;
  /** px from the timeline's left edge to the preview's centre */
  left: number;
}

/**
 * The clip's video with a timeline under it: a button per highlight (seeks there), and, over the
 * timeline, the storyboard frame nearest the pointer.
 */
export function ClipPlayer({ src, poster, duration, highlights, storyboard, spriteUrl, videoRef }: ClipPlayerProps) {
  const ownRef = useRef<HTMLVideoElement>(null);
  const video = videoRef ?? ownRef;
  const timeline = useRef<HTMLDivElement>(null);
  const [mediaDuration, setMediaDuration] = useState<number | null>(null);
  const [now, setNow] = useState(0);
  const [preview, setPreview] = useState<Preview | null>(null);

  // A renewed media token changes `src`. Reloading the same file would lose the viewer's place, so
  // the new URL is taken while the video is paused (where it was), or once the old token fails.
  const [shownSrc, setShownSrc] = useState(src);
  const resume = useRef<{ time: number; play: boolean } | null>(null);
  const swap = (play: boolean) => {
    const el = video.current;
    resume.current = el && sameFile(src, shownSrc) ? { time: el.currentTime, play } : null;
    setShownSrc(src);
  };
  useEffect(() => {
    if (src === shownSrc) return;
    const el = video.current;
    if (!sameFile(src, shownSrc) || !el || el.paused) swap(false);
  });

  const length = duration && duration > 0 ? duration : mediaDuration;
  const tiles = storyboard?.tiles ?? [];

  const seek = (seconds: number) => {
    if (video.current) video.current.currentTime = seconds;
  };

  const showAt = (seconds: number, left: number, width: number) => {
    const tile = nearestTile(tiles, seconds);
    if (!tile) return;
    // Kept inside the timeline, so the frame never hangs off the page's edge.
    const half = tile.w / 2;
    setPreview({ tile, seconds, left: width > tile.w ? Math.min(Math.max(left, half), width - half) : width / 2 });
  };

  const onMouseMove = (e: React.MouseEvent<HTMLDivElement>) => {
    if (!length || !timeline.current) return;
    const rect = timeline.current.getBoundingClientRect();
    if (rect.width <= 0) return;
    const x = Math.min(Math.max(e.clientX - rect.left, 0), rect.width);
    showAt((x / rect.width) * length, x, rect.width);
  };

  const previewStyle = (p: Preview): CSSProperties => ({
    left: `${p.left}px`,
    width: `${p.tile.w}px`,
    height: `${p.tile.h}px`,
    backgroundImage: spriteUrl ? `url("${spriteUrl}")` : undefined,
    backgroundPosition: `${-p.tile.x}px ${-p.tile.y}px`,
  });

  return (
    <div className="clip-player">
      <video
        ref={video}
        className="clip-player__video"
        controls
        preload="metadata"
        aria-label="Clip video"
        src={shownSrc ?? undefined}
        poster={poster}
        onLoadedMetadata={(e) => {
          const el = e.currentTarget;
          if (Number.isFinite(el.duration) && el.duration > 0) setMediaDuration(el.duration);
          const at = resume.current;
          resume.current = null;
          if (at) {
            el.currentTime = at.time;
            if (at.play) el.play().catch(() => undefined);
          }
        }}
        onTimeUpdate={(e) => setNow(e.currentTarget.currentTime)}
        onPause={() => {
          if (src !== shownSrc) swap(false);
        }}
        onError={() => {
          if (src !== shownSrc) swap(true); // most likely the old token expired mid-play
        }}
      />
      {length ? (
        <div
          ref={timeline}
          className="clip-timeline"
          role="group"
          aria-label="Timeline"
          onMouseMove={spriteUrl && tiles.length ? onMouseMove : undefined}
          onMouseLeave={() => setPreview(null)}
        >
          <div className="clip-timeline__track" aria-hidden="true">
            <div className="clip-timeline__played" style={{ width: timelinePosition(now, length) }} />
          </div>
          {highlights.map((h, i) => (
            <button
              key={`${h.timestamp}-${h.kind}-${i}`}
              type="button"
              className={`clip-timeline__marker clip-timeline__marker--${h.kind ?? "other"}`}
              style={{ left: timelinePosition(h.timestamp, length) }}
              aria-label={`Highlight at ${formatDuration(h.timestamp)}`}
              title={`${highlightKindLabel(h.kind)} at ${formatDuration(h.timestamp)}${
                h.confidence !== null ? ` (confidence ${Math.round(h.confidence * 100)}%)` : ""
              }`}
              onClick={() => seek(h.timestamp)}
              onFocus={() => {
                const width = timeline.current?.getBoundingClientRect().width ?? 0;
                if (spriteUrl && width > 0) showAt(h.timestamp, (Math.min(h.timestamp, length) / length) * width, width);
              }}
              onBlur={() => setPreview(null)}
            />
          ))}
          {preview && spriteUrl && (
            <div className="clip-timeline__preview" style={previewStyle(preview)} aria-hidden="true">
              <span>{formatDuration(preview.seconds)}</span>
            </div>
          )}
        </div>
      ) : null}
    </div>
  );
}
