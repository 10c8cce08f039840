import { statusLabel } from "./format";
import "./common.css";

/** A clip's or a plugin run's status, as text (the colour only repeats it). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge--${status}`}>{statusLabel(status)}</span>;
}
