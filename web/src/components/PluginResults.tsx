import type { ReactNode } from "react";
import { highlightsOf, isObject, type PluginRun } from "../api/clips";
import { posterUrl } from "../api/media";
import { highlightKindLabel } from "./ClipPlayer";
import { formatDate, formatDuration } from "./clip/format";
import { StatusBadge } from "./clip/StatusBadge";
import "./clip/results.css";

type Result = Record<string, unknown>;

/** Where the metadata service records how a result's run went, beside the plugin's own keys. */
const RUN_KEY = "_run";

export interface PluginResultsProps {
  clipId: string;
  /** `metadata.plugins`: each plugin's result, by plugin name. */
  results: Record<string, Result>;
  /** The clip's plugin runs, oldest first (`GET /clips/{id}/processing` items). */
  runs: readonly PluginRun[];
  access: string | null;
  /** Seek the clip's video (highlight times). */
  onSeek?(seconds: number): void;
}

interface RunFacts {
  status: string;
  version?: string;
  duration_ms?: number;
  attempt?: number;
  error?: string | null;
  at?: string;
}

/** The plugin's last run: from the trace, else from what its result carries. */
function lastRun(name: string, result: Result | undefined, runs: readonly PluginRun[]): RunFacts | null {
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i];
    if (r.plugin === name) return { ...r, at: r.reported_at };
  }
  const run = result?.[RUN_KEY];
  if (!isObject(run) || typeof run.status !== "string") return null;
  return {
    status: run.status,
    version: typeof run.version === "string" ? run.version : undefined,
    duration_ms: typeof run.duration_ms === "number" ? run.duration_ms : undefined,
    error: typeof run.error === "string" ? run.error : null,
    at: typeof run.at === "string" ? run.at : undefined,
  };
}

/** Each plugin's result, readably: a tailored view for the known ones, the values for the rest. */
export function PluginResults({ clipId, results, runs, access, onSeek }: PluginResultsProps) {
  const names = [...new Set([...Object.keys(results), ...runs.map((r) => r.plugin)])].sort();
  if (names.length === 0) return <p>No plugin has reported on this clip yet.</p>;
  return (
    <div className="plugin-results">
      {names.map((name) => {
        const result = results[name];
        const run = lastRun(name, result, runs);
        const headingId = `plugin-result-${name}`;
        return (
          <section key={name} className="plugin-result" aria-labelledby={headingId}>
            <header className="plugin-result__header">
              <h3 id={headingId}>{name}</h3>
              {run && <StatusBadge status={run.status} />}
            </header>
            {run && (
              <p className="plugin-result__run hint">
                {[
                  run.version && `version ${run.version}`,
                  run.duration_ms !== undefined && `${run.duration_ms} ms`,
                  run.attempt !== undefined && `attempt ${run.attempt}`,
                  run.at && `reported ${formatDate(run.at)}`,
                ]
                  .filter(Boolean)
                  .join(" · ")}
              </p>
            )}
            {run?.error && (
              <p className="error plugin-result__error">
                <strong>Error:</strong> {run.error}
              </p>
            )}
            {result ? (
              <>
                <ResultView name={name} result={result} clipId={clipId} access={access} onSeek={onSeek} />
                <details className="plugin-result__raw">
                  <summary>Raw JSON</summary>
                  <pre tabIndex={0}>{JSON.stringify(result, null, 2)}</pre>
                </details>
              </>
            ) : (
              <p className="hint">No result yet.</p>
            )}
          </section>
        );
      })}
    </div>
  );
}

interface ViewProps {
  name: string;
  result: Result;
  clipId: string;
  access: string | null;
  onSeek?(seconds: number): void;
}

function ResultView(props: ViewProps) {
  switch (props.name) {
    case "media_probe":
      return <MediaProbeView result={props.result} />;
    case "highlight_detector":
      return <HighlightsView result={props.result} onSeek={props.onSeek} />;
    case "thumbnails":
      return <ThumbnailsView {...props} />;
    default:
      return <GenericView result={props.result} />;
  }
}

/** A definition list of the facts that have a value. */
function Facts({ facts }: { facts: [string, ReactNode][] }) {
  const shown = facts.filter(([, value]) => value !== null && value !== undefined && value !== "");
  if (shown.length === 0) return null;
  return (
    <dl className="facts">
      {shown.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

function MediaProbeView({ result }: { result: Result }) {
  const video = isObject(result.video) ? result.video : {};
  const audio = isObject(result.audio) ? result.audio : null;
  const duration = num(result.duration);
  const bitrate = num(result.bitrate);
  const disagreements = isObject(result.disagreements) ? Object.entries(result.disagreements) : [];
  return (
    <>
      <Facts
        facts={[
          ["Container", str(result.container)],
          ["Duration", duration !== null ? `${formatDuration(duration)} (${duration} s)` : null],
          ["Bitrate", bitrate !== null ? `${Math.round(bitrate / 1000)} kb/s` : null],
          ["Resolution", str(video.resolution)],
          ["Video codec", [str(video.codec), str(video.profile)].filter(Boolean).join(", ") || null],
          ["Average fps", num(video.average_fps)],
          ["Real fps", num(video.real_fps)],
          ["Rotation", num(video.rotation) ? `${num(video.rotation)}°` : null],
          ["Keyframe interval", num(video.keyframe_interval_s) !== null ? `${num(video.keyframe_interval_s)} s` : null],
          [
            "Audio",
            audio
              ? [
                  str(audio.codec),
                  num(audio.channels) !== null && `${num(audio.channels)} channel${num(audio.channels) === 1 ? "" : "s"}`,
                  num(audio.sample_rate) !== null && `${num(audio.sample_rate)} Hz`,
                ]
                  .filter(Boolean)
                  .join(", ")
              : "none",
          ],
          ["Created", str(result.creation_time) && formatDate(str(result.creation_time))],
        ]}
      />
      {disagreements.length > 0 && (
        <>
          <p>The file disagrees with the clip's fields:</p>
          <ul>
            {disagreements.map(([field, d]) => (
              <li key={field}>
                {field}: the clip says {show(isObject(d) ? d.clip : d)}, the file {show(isObject(d) ? d.file : null)}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function HighlightsView({ result, onSeek }: { result: Result; onSeek?(seconds: number): void }) {
  const highlights = highlightsOf(result);
  const analyzed = Array.isArray(result.analyzed) ? result.analyzed.filter((a) => typeof a === "string") : [];
  const damaged = num(result.damaged_packets);
  return (
    <>
      {highlights.length === 0 ? (
        <p>No highlights found.</p>
      ) : (
        <ol className="highlight-list">
          {highlights.map((h, i) => (
            <li key={`${h.timestamp}-${i}`}>
              {onSeek ? (
                <button type="button" className="secondary-button" onClick={() => onSeek(h.timestamp)}>
                  Seek to {formatDuration(h.timestamp)}
                </button>
              ) : (
                <span>{formatDuration(h.timestamp)}</span>
              )}{" "}
              {highlightKindLabel(h.kind)}
              {h.confidence !== null && `, confidence ${Math.round(h.confidence * 100)}%`}
            </li>
          ))}
        </ol>
      )}
      <Facts
        facts={[
          ["Analysed", analyzed.join(", ")],
          ["Typical loudness", num(result.baseline_db) !== null ? `${num(result.baseline_db)} dBFS` : null],
          ["Damaged packets", damaged ? damaged : null],
        ]}
      />
    </>
  );
}

function ThumbnailsView({ result, clipId, access }: ViewProps) {
  const poster = isObject(result.poster) ? result.poster : null;
  const board = isObject(result.storyboard) ? result.storyboard : null;
  const at = num(poster?.timestamp);
  return (
    <div className="thumbnails-result">
      {poster && access && (
        <img
          className="thumbnails-result__poster"
          src={posterUrl(clipId, access)}
          alt={`Poster, the frame at ${formatDuration(at)}`}
          width={160}
          height={num(poster.width) && num(poster.height) ? Math.round((160 * num(poster.height)!) / num(poster.width)!) : 90}
          loading="lazy"
        />
      )}
      <Facts
        facts={[
          ["Poster", poster ? `${num(poster.width) ?? "?"}×${num(poster.height) ?? "?"}, frame at ${formatDuration(at)}` : "none"],
          [
            "Storyboard",
            board
              ? `${num(board.count) ?? "?"} tiles of ${num(board.tile_width) ?? "?"}×${num(board.tile_height) ?? "?"}` +
                (num(board.interval_s) !== null ? `, one every ${num(board.interval_s)} s` : "")
              : "none",
          ],
        ]}
      />
    </div>
  );
}

/** What is flat in an unknown plugin's result; what is nested is in its raw JSON. */
function GenericView({ result }: { result: Result }) {
  const facts: [string, ReactNode][] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key === RUN_KEY) continue;
    if (isFlat(value)) facts.push([key.replace(/_/g, " "), show(value)]);
    else if (Array.isArray(value) && value.every(isFlat)) facts.push([key.replace(/_/g, " "), value.map(show).join(", ") || "none"]);
  }
  if (facts.length === 0) {
    const empty = Object.keys(result).every((key) => key === RUN_KEY);
    return <p className="hint">{empty ? "The plugin reported no values." : "Nothing flat to show: see the raw JSON."}</p>;
  }
  return <Facts facts={facts} />;
}

function isFlat(value: unknown): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return typeof value === "string" ? value : JSON.stringify(value);
}
