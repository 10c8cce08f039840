import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useCallback } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { clipKeys, listClips, type ClipFilters as Filters } from "../api/clips";
import { useMediaAccess } from "../api/media";
import { ClipCard } from "../components/ClipCard";
import { ClipFilters, isFiltered, readFilters } from "../components/ClipFilters";
import "../components/clip/card.css";
import "./library.css";

export const PAGE_SIZE = 48;
/** Posters of this many cards (about a row) load at once; the others when scrolled to. */
const EAGER_POSTERS = 4;
/** New clips and status changes show up within this long. */
const POLL_MS = 3000;

function readPage(params: URLSearchParams): number {
  const page = Number(params.get("page"));
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

function describe(error: unknown): string {
  if (error instanceof ApiError && error.status === 422) return `the filters were refused (${error.message})`;
  return error instanceof Error ? error.message : String(error);
}

export default function LibraryPage() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const page = readPage(params);
  const offset = (page - 1) * PAGE_SIZE;
  const access = useMediaAccess();

  const clips = useQuery({
    queryKey: clipKeys.list(filters, offset, PAGE_SIZE),
    queryFn: ({ signal }) => listClips(filters, offset, PAGE_SIZE, signal),
    // The last page stays on screen while the next loads: no flash between pages or filters.
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS,
    refetchIntervalInBackground: false,
  });

  const setFilter = useCallback(
    (key: keyof Filters, value: string) =>
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          if (value.trim()) next.set(key, value.trim());
          else next.delete(key);
          next.delete("page"); // other filters, other pages
          return next;
        },
        // Typing replaces the entry (back skips each keystroke); a choice in a select is a step.
        { replace: key === "q" || key === "game_name" || key === "tag" },
      ),
    [setParams],
  );

  const clearFilters = useCallback(
    () =>
      setParams((current) => {
        const next = new URLSearchParams();
        for (const key of ["sort", "order"]) {
          const value = current.get(key);
          if (value) next.set(key, value);
        }
        return next;
      }),
    [setParams],
  );

  const goTo = (target: number) => {
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (target > 1) next.set("page", String(target));
      else next.delete("page");
      return next;
    });
    if (window.scrollY > 0) window.scrollTo({ top: 0 });
  };

  const data = clips.data;
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const shown = data?.items ?? [];

  return (
    <section aria-labelledby="library-title" className="library">
      <h1 id="library-title">Library</h1>
      <ClipFilters filters={filters} onChange={setFilter} onClear={clearFilters} />

      {clips.isError && (
        <p role="alert" className="error">
          Could not load the clips: {describe(clips.error)}
        </p>
      )}
      {clips.isPending && <p role="status">Loading clips…</p>}

      {data && (
        <>
          <p className="library__summary" role="status">
            {total === 0
              ? ""
              : shown.length > 0
                ? `Showing ${(data.offset + 1).toLocaleString()}–${(data.offset + shown.length).toLocaleString()} of ${total.toLocaleString()}`
                : `Page ${page} is past the end: there are ${total} clips.`}
          </p>
          {total === 0 && !isFiltered(filters) && (
            <div className="library__empty">
              <h2>No clips yet</h2>
              <p>
                <Link to="/upload">Upload a clip</Link> and it shows up here as soon as it is stored.
              </p>
            </div>
          )}
          {total === 0 && isFiltered(filters) && (
            <div className="library__empty">
              <h2>No clips match these filters</h2>
              <button type="button" className="secondary-button" onClick={clearFilters}>
                Clear filters
              </button>
            </div>
          )}
          {shown.length === 0 && total > 0 && (
            <p>
              <button type="button" className="secondary-button" onClick={() => goTo(pages)}>
                Go to the last page
              </button>
            </p>
          )}
          {shown.length > 0 && (
            <ul className="clip-grid" aria-label="Clips" aria-busy={clips.isPlaceholderData || undefined}>
              {shown.map((clip, i) => (
                <li key={clip.id}>
                  <ClipCard clip={clip} access={access} eager={i < EAGER_POSTERS} />
                </li>
              ))}
            </ul>
          )}
          {total > PAGE_SIZE && (
            <nav className="pager" aria-label="Pagination">
              <button type="button" onClick={() => goTo(page - 1)} disabled={page <= 1}>
                Previous
              </button>
              <span>
                Page {page} of {pages}
              </span>
              <button type="button" onClick={() => goTo(page + 1)} disabled={page >= pages}>
                Next
              </button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}
