import { useId, useState, type DragEvent } from "react";

export interface DropZoneProps {
  onFiles(files: File[]): void;
}

/** Drop video files here, or choose them with the (visible, labelled) file input inside. */
export function DropZone({ onFiles }: DropZoneProps) {
  const inputId = useId();
  const [over, setOver] = useState(false);

  function drop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    const files = Array.from(e.dataTransfer.files);
    if (files.length > 0) onFiles(files);
  }

  return (
    <div
      className={over ? "drop-zone drop-zone--over" : "drop-zone"}
      onDragEnter={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragOver={(e) => {
        // Without this the browser opens the file instead of dropping it here.
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={drop}
    >
      <p aria-hidden="true" className="drop-zone__hint">
        Drop video files here
      </p>
      <label htmlFor={inputId}>Choose video files</label>
      <input
        id={inputId}
        type="file"
        multiple
        accept="video/*"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          // Cleared so that choosing the same file again is a change too.
          e.target.value = "";
          if (files.length > 0) onFiles(files);
        }}
      />
    </div>
  );
}
