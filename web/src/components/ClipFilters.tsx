import { useEffect, useId, useRef, useState } from "react";
import {
  CLIP_SORTS,
  CLIP_STATUSES,
  isClipStatus,
  SORT_ORDERS,
  type ClipFilters as Filters,
  type ClipSort,
  type SortOrder,
} from "../api/clips";
import { statusLabel } from "./clip/format";
import "./clip/filters.css";

export const DEBOUNCE_MS = 300;

const SORT_LABELS: Record<ClipSort, string> = {
  created_at: "Date added",
  recorded_at: "Date recorded",
  title: "Title",
  duration: "Duration",
};
const ORDER_LABELS: Record<SortOrder, string> = { desc: "Descending", asc: "Ascending" };

/** The filters as the URL holds them (the API's own names), unknown values dropped. */
export function readFilters(params: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const key of ["game_name", "tag", "q"] as const) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  const status = params.get("status");
  if (isClipStatus(status)) filters.status = status;
  const sort = params.get("sort");
  if ((CLIP_SORTS as readonly string[]).includes(sort ?? "")) filters.sort = sort as ClipSort;
  const order = params.get("order");
  if ((SORT_ORDERS as readonly string[]).includes(order ?? "")) filters.order = order as SortOrder;
  return filters;
}

/** Whether any filter narrows the list (sorting does not). */
export function isFiltered(filters: Filters): boolean {
  return Boolean(filters.game_name || filters.tag || filters.q || filters.status);
}

export interface ClipFiltersProps {
  filters: Filters;
  /** A changed value ("" clears it); text inputs report `DEBOUNCE_MS` after the last keystroke. */
  onChange(key: keyof Filters, value: string): void;
  onClear(): void;
}

export function ClipFilters({ filters, onChange, onClear }: ClipFiltersProps) {
  const id = useId();
  return (
    <form className="clip-filters" role="search" aria-label="Filter clips" onSubmit={(e) => e.preventDefault()}>
      <TextFilter label="Search" name="q" type="search" value={filters.q ?? ""} maxLength={200} onCommit={onChange} />
      <TextFilter label="Game" name="game_name" value={filters.game_name ?? ""} maxLength={200} onCommit={onChange} />
      <TextFilter label="Tag" name="tag" value={filters.tag ?? ""} maxLength={50} onCommit={onChange} />
      <div className="clip-filters__field">
        <label htmlFor={`${id}-status`}>Status</label>
        <select id={`${id}-status`} value={filters.status ?? ""} onChange={(e) => onChange("status", e.target.value)}>
          <option value="">Any</option>
          {CLIP_STATUSES.map((s) => (
            <option key={s} value={s}>
              {statusLabel(s)}
            </option>
          ))}
        </select>
      </div>
      <div className="clip-filters__field">
        <label htmlFor={`${id}-sort`}>Sort by</label>
        <select id={`${id}-sort`} value={filters.sort ?? "created_at"} onChange={(e) => onChange("sort", e.target.value)}>
          {CLIP_SORTS.map((s) => (
            <option key={s} value={s}>
              {SORT_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="clip-filters__field">
        <label htmlFor={`${id}-order`}>Order</label>
        <select id={`${id}-order`} value={filters.order ?? "desc"} onChange={(e) => onChange("order", e.target.value)}>
          {SORT_ORDERS.map((o) => (
            <option key={o} value={o}>
              {ORDER_LABELS[o]}
            </option>
          ))}
        </select>
      </div>
      {isFiltered(filters) && (
        <button type="button" className="secondary-button clip-filters__clear" onClick={onClear}>
          Clear filters
        </button>
      )}
    </form>
  );
}

interface TextFilterProps {
  label: string;
  name: "q" | "game_name" | "tag";
  value: string;
  type?: "text" | "search";
  maxLength: number;
  onCommit(key: TextFilterProps["name"], value: string): void;
}

/** A text input that reports its value once typing pauses (or on Enter), not on every keystroke. */
function TextFilter({ label, name, value, type = "text", maxLength, onCommit }: TextFilterProps) {
  const id = useId();
  const [draft, setDraft] = useState(value);
  // The URL's value as last seen, and what this input last sent to it. The router applies a change
  // in a transition, so the two can differ for a render: only a value that did not come from here
  // (back, "Clear filters") replaces what is being typed.
  const [seen, setSeen] = useState(value);
  const [sent, setSent] = useState<string | null>(null);
  if (value !== seen) {
    setSeen(value);
    if (value !== sent) setDraft(value);
    setSent(null);
  }

  const latest = useRef(onCommit);
  useEffect(() => {
    latest.current = onCommit;
  });

  // Outer spaces mean nothing to the API: "halo " is "halo", and the space being typed stays.
  const wanted = draft.trim();
  const pending = wanted !== value && wanted !== sent;
  const commit = () => {
    setSent(wanted);
    latest.current(name, wanted);
  };

  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => {
      setSent(wanted);
      latest.current(name, wanted);
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [pending, wanted, name]);

  return (
    <div className="clip-filters__field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={draft}
        maxLength={maxLength}
        autoComplete="off"
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && pending) commit();
        }}
      />
    </div>
  );
}
