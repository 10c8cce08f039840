import { Link } from "react-router-dom";
import type { UploadItem } from "./uploadQueue";

export interface UploadListProps {
  items: UploadItem[];
  onCancel(id: number): void;
}

export function UploadList({ items, onCancel }: UploadListProps) {
  if (items.length === 0) return null;
  return (
    <ul className="upload-list" aria-label="Uploads">
      {items.map((item) => (
        <li key={item.id} className={`upload-row upload-row--${item.state}`}>
          <span className="upload-row__name">{item.fileName}</span>
          <UploadOutcome item={item} onCancel={() => onCancel(item.id)} />
        </li>
      ))}
    </ul>
  );
}

function UploadOutcome({ item, onCancel }: { item: UploadItem; onCancel(): void }) {
  switch (item.state) {
    case "queued":
    case "uploading":
      return (
        <span className="upload-row__progress">
          <progress max={100} value={item.percent} aria-label={`Uploading ${item.fileName}`} />
          <span>
            {item.state === "queued" ? "Waiting" : item.percent === 100 ? "100 %, checking the video…" : `${item.percent} %`}
          </span>
          <button type="button" className="link-button" onClick={onCancel} aria-label={`Cancel ${item.fileName}`}>
            Cancel
          </button>
        </span>
      );
    case "created":
      return (
        <span>
          Uploaded: <Link to={`/clips/${item.clip!.id}`}>Open {item.clip!.title}</Link>
        </span>
      );
    case "duplicate":
      return (
        <span>
          Already uploaded.{" "}
          {item.clipId ? <Link to={`/clips/${item.clipId}`}>Open the existing clip</Link> : item.message}
        </span>
      );
    case "failed":
      return (
        <p role="alert" className="error upload-row__error">
          {item.message}
        </p>
      );
  }
}
