import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError } from "../api/client";
import {
  clipKeys,
  deleteClip,
  getClip,
  getProcessing,
  getStoryboard,
  highlightsOf,
  isFinal,
  pluginResults,
  posterOf,
  reprocessClip,
  storyboardVersion,
  type Clip,
} from "../api/clips";
import { mediaUrl, posterUrl, storyboardFileUrl, useMediaAccess } from "../api/media";
import { ClipEditForm } from "../components/clip/ClipEditForm";
import { ConfirmDialog } from "../components/clip/ConfirmDialog";
import { formatBytes, formatDate, formatDuration } from "../components/clip/format";
import { ProcessingTrace } from "../components/clip/ProcessingTrace";
import { StatusBadge } from "../components/clip/StatusBadge";
import { ClipPlayer } from "../components/ClipPlayer";
import { PluginResults } from "../components/PluginResults";
import "./clip.css";

/** While the plugins work on a clip, it and its trace are read this often. */
const POLL_MS = 2000;
const UUID = /^[0-9a-f]{8}-?(?:[0-9a-f]{4}-?){3}[0-9a-f]{12}$/i;

/** A 4xx: asking again will not change the answer. */
function isRefused(error: unknown): boolean {
  return error instanceof ApiError && error.status < 500;
}

function describe(error: unknown, admin: string): string {
  if (error instanceof ApiError && error.status === 403) return `Only an admin key can ${admin}.`;
  return error instanceof Error ? error.message : String(error);
}

export default function ClipPage() {
  const { id = "" } = useParams();
  const valid = UUID.test(id);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const access = useMediaAccess();
  const videoRef = useRef<HTMLVideoElement>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);

  const remove = useMutation({
    mutationFn: () => deleteClip(id),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: clipKeys.one(id) });
      void queryClient.invalidateQueries({ queryKey: clipKeys.lists() });
      navigate("/", { replace: true });
    },
  });
  const gone = remove.isPending || remove.isSuccess; // no polling a clip being deleted

  const clip = useQuery({
    queryKey: clipKeys.one(id),
    queryFn: ({ signal }) => getClip(id, signal),
    enabled: valid && !gone,
    // Until every plugin has reported, so a fresh upload fills in by itself (a 404 ends it).
    refetchInterval: (query) => (isRefused(query.state.error) || isFinal(query.state.data?.status) ? false : POLL_MS),
    refetchIntervalInBackground: false,
  });
  const final = isFinal(clip.data?.status);

  const processing = useQuery({
    queryKey: clipKeys.processing(id),
    queryFn: ({ signal }) => getProcessing(id, signal),
    enabled: valid && !gone && clip.data !== undefined,
    refetchInterval: final ? false : POLL_MS,
    refetchIntervalInBackground: false,
  });

  // The poll that saw the clip finish was the clip's: the trace is read once more to catch up.
  const wasFinal = useRef<boolean | null>(null);
  useEffect(() => {
    if (!clip.data) return;
    if (wasFinal.current === false && final) void queryClient.invalidateQueries({ queryKey: clipKeys.processing(id) });
    wasFinal.current = final;
  }, [clip.data, final, id, queryClient]);

  const boardVersion = clip.data ? storyboardVersion(clip.data) : null;
  const storyboard = useQuery({
    queryKey: clipKeys.storyboard(id, boardVersion ?? ""),
    queryFn: ({ signal }) => getStoryboard(id, signal),
    enabled: valid && !gone && boardVersion !== null,
    staleTime: Infinity, // a new thumbnails run is a new version, so a new key
  });

  const reprocess = useMutation({
    mutationFn: () => reprocessClip(id),
    onMutate: () => setNotice(null),
    onSuccess: () => {
      // The clip is "processing" again: its polling resumes.
      queryClient.setQueryData<Clip>(clipKeys.one(id), (c) => (c ? { ...c, status: "processing" } : c));
      void queryClient.invalidateQueries({ queryKey: clipKeys.one(id) });
      setNotice({ text: "Reprocessing started: the results below update as the plugins report.", error: false });
    },
    onError: (error) => setNotice({ text: `Could not reprocess: ${describe(error, "reprocess a clip")}`, error: true }),
  });

  if (!valid) {
    return (
      <section>
        <h1>Clip not found</h1>
        <p role="alert">“{id}” is not a clip id.</p>
        <p>
          <Link to="/">Back to the library</Link>
        </p>
      </section>
    );
  }
  if (clip.isPending) return <p role="status">Loading the clip…</p>;
  if (clip.isError && !clip.data) {
    const missing = clip.error instanceof ApiError && clip.error.status === 404;
    return (
      <section>
        <h1>{missing ? "Clip not found" : "Clip"}</h1>
        <p role="alert" className="error">
          {missing ? "There is no clip with this id: it may have been deleted." : `Could not load the clip: ${clip.error.message}`}
        </p>
        <p>
          <Link to="/">Back to the library</Link>
        </p>
      </section>
    );
  }

  const c = clip.data;
  const results = pluginResults(c);
  const board = storyboard.data ?? null;
  const spriteName = board?.sprite.split("/").pop();
  const seek = (seconds: number) => {
    const video = videoRef.current;
    if (!video) return;
    video.currentTime = seconds;
    video.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
  };

  return (
    <article className="clip-page" aria-labelledby="clip-title">
      <p>
        <Link to="/">← Library</Link>
      </p>
      <header className="clip-page__header">
        <h1 id="clip-title">{c.title}</h1>
        <StatusBadge status={c.status} />
      </header>
      {clip.isError && (
        <p role="alert" className="error">
          Could not refresh the clip: {clip.error.message}
        </p>
      )}
      {!final && (
        <p className="hint" role="status">
          The plugins are still working on this clip; this page fills in as they report.
        </p>
      )}

      <ClipPlayer
        key={c.id}
        videoRef={videoRef}
        src={access ? mediaUrl(c.id, access) : null}
        poster={access && posterOf(c) ? posterUrl(c.id, access) : undefined}
        duration={c.duration}
        highlights={highlightsOf(results.highlight_detector)}
        storyboard={board}
        spriteUrl={board && spriteName && access ? storyboardFileUrl(c.id, spriteName, access) : null}
      />

      <dl className="clip-page__facts">
        {(
          [
            ["Game", c.game_name || "—"],
            ["Duration", formatDuration(c.duration)],
            ["Resolution", c.resolution || "—"],
            ["Frame rate", c.fps != null ? `${c.fps} fps` : "—"],
            ["Codec", c.codec || "—"],
            ["File size", formatBytes(c.file_size)],
            ["Recorded", formatDate(c.recorded_at)],
            ["Added", formatDate(c.created_at)],
            ["Updated", formatDate(c.updated_at)],
            [
              "Tags",
              c.tags?.length
                ? c.tags.map((tag, i) => (
                    <span key={tag}>
                      {i > 0 && ", "}
                      <Link to={`/?tag=${encodeURIComponent(tag)}`}>{tag}</Link>
                    </span>
                  ))
                : "—",
            ],
          ] as const
        ).map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {c.description && <p className="clip-page__description">{c.description}</p>}

      <div className="clip-page__actions">
        <button type="button" className="secondary-button" onClick={() => reprocess.mutate()} disabled={reprocess.isPending}>
          {reprocess.isPending ? "Reprocessing…" : "Reprocess"}
        </button>
        <button
          type="button"
          className="danger-button"
          onClick={() => {
            remove.reset();
            setConfirming(true);
          }}
        >
          Delete
        </button>
      </div>
      <div aria-live="polite">
        {notice && (
          <p className={notice.error ? "error" : undefined} role={notice.error ? "alert" : undefined}>
            {notice.text}
          </p>
        )}
      </div>

      <section aria-labelledby="results-title">
        <h2 id="results-title">Plugin results</h2>
        {processing.isError && (
          <p role="alert" className="error">
            Could not load the processing trace: {processing.error.message}
          </p>
        )}
        <PluginResults
          clipId={c.id}
          results={results}
          runs={processing.data?.items ?? []}
          access={access}
          onSeek={seek}
        />
      </section>

      <section aria-labelledby="trace-title">
        <h2 id="trace-title">Processing trace</h2>
        {processing.data ? (
          <ProcessingTrace processing={processing.data} />
        ) : (
          processing.isPending && <p role="status">Loading the trace…</p>
        )}
      </section>

      <section aria-labelledby="edit-title">
        <h2 id="edit-title">Edit details</h2>
        <ClipEditForm key={c.id} clip={c} />
      </section>

      {confirming && (
        <ConfirmDialog
          title="Delete this clip?"
          confirmLabel="Delete clip"
          busy={remove.isPending}
          error={remove.isError ? `Could not delete: ${describe(remove.error, "delete a clip")}` : null}
          onConfirm={() => remove.mutate()}
          onCancel={() => setConfirming(false)}
        >
          <p>
            “{c.title}”, its poster and storyboard are deleted for good, and its file too if it was uploaded.
          </p>
        </ConfirmDialog>
      )}
    </article>
  );
}
