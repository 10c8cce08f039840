import { useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { getBackfill, pluginKeys, type Backfill } from "../api/plugins";
import "./plugins.css";

export function backfillPercent(b: Backfill): number {
  return b.total === 0 ? 100 : Math.min(100, Math.round((b.done / b.total) * 100));
}

/** Where a backfill stands: a progress bar, "done / total done, failed failed", and the end. */
export function BackfillStatus({ backfill }: { backfill: Backfill }) {
  const percent = backfillPercent(backfill);
  const finished = backfill.pending === 0;
  return (
    <div className="backfill">
      <progress
        max={100}
        value={percent}
        aria-label="Backfill progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      />{" "}
      <span>{percent} %</span>
      <p className="backfill__counts">
        {backfill.done} / {backfill.total} done, {backfill.failed} failed
      </p>
      {/* Announced once, at the end, rather than on every tick. */}
      <p role="status">{finished ? "Backfill finished" : null}</p>
    </div>
  );
}

export interface BackfillProgressProps {
  /** The backfill as it was started (POST …/backfill). */
  started: Backfill;
  intervalMs?: number;
}

/** Follows a backfill, polling its state until nothing is pending. */
export function BackfillProgress({ started, intervalMs = 1000 }: BackfillProgressProps) {
  const query = useQuery({
    queryKey: pluginKeys.backfill(started.plugin_id, started.id),
    queryFn: () => getBackfill(started.plugin_id, started.id),
    initialData: started,
    // The answer to the POST is the first state: the next one is a tick away.
    staleTime: intervalMs,
    // Until nothing is pending, or the API says no (a 4xx will not change on the next tick).
    refetchInterval: (q) =>
      q.state.data?.pending === 0 || (q.state.error instanceof ApiError && q.state.error.status < 500) ? false : intervalMs,
  });
  const backfill = query.data;
  return (
    <>
      <BackfillStatus backfill={backfill} />
      {query.isError && (
        <p role="alert" className="error">
          Could not check the backfill's progress: {query.error.message}
        </p>
      )}
    </>
  );
}
