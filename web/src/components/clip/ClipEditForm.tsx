import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { ApiError, type ValidationEntry } from "../../api/client";
import { clipKeys, updateClip, type Clip, type ClipUpdate } from "../../api/clips";
import "./page.css";

type Field = "title" | "tags" | "description";
export type FieldErrors = Partial<Record<Field | "form", string[]>>;

/** "ace, clutch ,, ace" as ["ace", "clutch"]. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

/**
 * The API's 422 entries by field: `loc` is ["body", field, ...] (["body", "tags", 2] for the third
 * tag). What names no field of the form is the form's.
 */
export function fieldErrors(entries: ValidationEntry[], tags: string[] = []): FieldErrors {
  const out: FieldErrors = {};
  for (const entry of entries) {
    const path = entry.loc[0] === "body" ? entry.loc.slice(1) : entry.loc;
    const field = path[0];
    let message = entry.msg;
    if (field === "tags" && typeof path[1] === "number") {
      message = `Tag "${tags[path[1]] ?? path[1] + 1}": ${entry.msg}`;
    }
    const key: Field | "form" = field === "title" || field === "tags" || field === "description" ? field : "form";
    (out[key] ??= []).push(message);
  }
  return out;
}

function describe(error: unknown): string {
  if (error instanceof ApiError && error.status === 403) return "Only an uploader or admin key can edit a clip.";
  return `Could not save: ${error instanceof Error ? error.message : String(error)}`;
}

/** Title, tags and description of a clip, saved with `PUT /clips/{id}`. */
export function ClipEditForm({ clip }: { clip: Clip }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState(clip.title);
  const [tags, setTags] = useState((clip.tags ?? []).join(", "));
  const [description, setDescription] = useState(clip.description ?? "");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: (body: ClipUpdate) => updateClip(clip.id, body),
    onMutate: () => {
      setErrors({});
      setStatus(null);
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(clipKeys.one(clip.id), saved);
      void queryClient.invalidateQueries({ queryKey: clipKeys.lists() });
      setTitle(saved.title);
      setTags((saved.tags ?? []).join(", "));
      setDescription(saved.description ?? "");
      setStatus("Saved.");
    },
    onError: (error, body) => {
      if (error instanceof ApiError && error.status === 422 && error.entries.length > 0) {
        setErrors(fieldErrors(error.entries, body.tags ?? []));
        setStatus("Not saved: see the messages by the fields.");
      } else {
        setErrors({ form: [describe(error)] });
      }
    },
  });

  const onSubmit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setErrors({ title: ["A clip needs a title."] });
      setStatus(null);
      return;
    }
    save.mutate({ title: title.trim(), tags: parseTags(tags), description: description.trim() || null });
  };

  const field = (name: Field, label: string, input: (props: FieldProps) => React.ReactNode, hint?: string) => {
    const inputId = `${id}-${name}`;
    const messages = errors[name];
    const describedBy = [hint && `${inputId}-hint`, messages && `${inputId}-error`].filter(Boolean).join(" ");
    return (
      <div className="clip-edit__field">
        <label htmlFor={inputId}>{label}</label>
        {hint && (
          <span id={`${inputId}-hint`} className="hint">
            {hint}
          </span>
        )}
        {input({ id: inputId, "aria-invalid": messages ? true : undefined, "aria-describedby": describedBy || undefined })}
        {messages && (
          <p id={`${inputId}-error`} className="clip-edit__error">
            {messages.join(" ")}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="clip-edit" onSubmit={onSubmit} noValidate aria-label="Edit clip details">
      {field("title", "Title", (p) => (
        <input {...p} value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} aria-required="true" />
      ))}
      {field(
        "tags",
        "Tags",
        (p) => <input {...p} value={tags} onChange={(e) => setTags(e.target.value)} autoComplete="off" />,
        "Separated by commas, e.g. ace, clutch",
      )}
      {field("description", "Description", (p) => (
        <textarea {...p} value={description} onChange={(e) => setDescription(e.target.value)} rows={3} />
      ))}
      {errors.form && (
        <p role="alert" className="error">
          {errors.form.join(" ")}
        </p>
      )}
      <div className="clip-edit__actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        <span role="status">{status}</span>
      </div>
    </form>
  );
}

interface FieldProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}
