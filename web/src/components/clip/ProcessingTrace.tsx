import type { Processing } from "../../api/clips";
import { formatDate } from "./format";
import { StatusBadge } from "./StatusBadge";
import "./page.css";

/** Every processing run of a clip and every plugin run in them, oldest first, as the API keeps them. */
export function ProcessingTrace({ processing }: { processing: Processing }) {
  if (processing.runs.length === 0 && processing.items.length === 0) {
    return <p>The clip has not been processed yet.</p>;
  }
  return (
    <>
      <ol className="trace-runs">
        {processing.runs.map((run) => (
          <li key={run.run_id}>
            Requested {formatDate(run.requested_at)}
            {run.backfill_id !== null && ` (backfill ${run.backfill_id})`}:{" "}
            {run.completed_at ? `completed ${formatDate(run.completed_at)}` : "in progress"}
            {run.due ? `, plugins ${run.due.join(", ") || "none"}` : ", waiting for a runner"}
          </li>
        ))}
      </ol>
      {processing.items.length > 0 && (
        <div className="table-scroll" role="region" aria-label="Plugin runs" tabIndex={0}>
          <table className="trace-table">
            <caption className="visually-hidden">Plugin runs, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Plugin</th>
                <th scope="col">Version</th>
                <th scope="col">Status</th>
                <th scope="col">Duration (ms)</th>
                <th scope="col">Attempt</th>
                <th scope="col">Reported at</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {processing.items.map((item) => (
                <tr key={`${item.run_id}-${item.plugin}-${item.event_id}`}>
                  <th scope="row">{item.plugin}</th>
                  <td>{item.version}</td>
                  <td>
                    <StatusBadge status={item.status} />
                  </td>
                  <td className="num">{item.duration_ms}</td>
                  <td className="num">{item.attempt}</td>
                  <td>{formatDate(item.reported_at)}</td>
                  <td className={item.error ? "error" : undefined}>{item.error ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
