import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useAuth } from "../auth";
import { DropZone } from "../components/upload/DropZone";
import { UploadList } from "../components/upload/UploadList";
import { uploads, useUploadQueue, type UploadItem, type UploadQueue } from "../components/upload/uploadQueue";
import "../components/upload/upload.css";

function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

function summary(items: UploadItem[]): string {
  const going = items.filter((i) => i.state === "uploading").length;
  const waiting = items.filter((i) => i.state === "queued").length;
  if (going + waiting > 0) return `Uploading ${going} ${going === 1 ? "file" : "files"}, ${waiting} waiting.`;
  if (items.length === 0) return "";
  const count = (state: UploadItem["state"]) => items.filter((i) => i.state === state).length;
  const duplicates = count("duplicate");
  const already = duplicates > 0 ? `, ${duplicates} already there` : "";
  return `All uploads finished: ${count("created")} uploaded${already}, ${count("failed")} failed.`;
}

export default function UploadPage({ queue = uploads }: { queue?: UploadQueue }) {
  const items = useUploadQueue(queue);
  const { signOut } = useAuth();
  const queryClient = useQueryClient();
  const [game, setGame] = useState("");
  const [tags, setTags] = useState("");

  useEffect(() => {
    queue.onUnauthorized = signOut;
    return () => void (queue.onUnauthorized = null);
  }, [queue, signOut]);

  // New clips: the library's lists are out of date.
  const created = items.filter((i) => i.state === "created").length;
  useEffect(() => {
    if (created > 0) void queryClient.invalidateQueries({ queryKey: ["clips"] });
  }, [created, queryClient]);

  const finished = items.some((i) => i.state === "created" || i.state === "duplicate" || i.state === "failed");
  return (
    <section aria-labelledby="upload-title">
      <h1 id="upload-title">Upload</h1>
      <div className="upload-fields">
        <div>
          <label htmlFor="upload-game">Game</label>
          <input id="upload-game" value={game} onChange={(e) => setGame(e.target.value)} aria-describedby="upload-fields-hint" />
        </div>
        <div>
          <label htmlFor="upload-tags">Tags</label>
          <input
            id="upload-tags"
            value={tags}
            onChange={(e) => setTags(e.target.value)}
            aria-describedby="upload-tags-hint upload-fields-hint"
          />
          <p id="upload-tags-hint" className="hint">
            Separate tags with commas.
          </p>
        </div>
        <p id="upload-fields-hint" className="hint">
          Optional; applied to each file you add next. A clip's title is its file name.
        </p>
      </div>
      <DropZone
        onFiles={(files) => queue.add(files, { game_name: game.trim() || undefined, tags: parseTags(tags) })}
      />
      <p role="status" className="upload-summary">
        {summary(items)}
      </p>
      <UploadList items={items} onCancel={(id) => queue.cancel(id)} />
      {finished && (
        <button type="button" className="link-button" onClick={() => queue.clearFinished()}>
          Clear finished
        </button>
      )}
    </section>
  );
}
