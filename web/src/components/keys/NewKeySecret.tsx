import { useEffect, useRef, useState } from "react";
import type { CreatedKey } from "../../api/keys";

export interface NewKeySecretProps {
  created: CreatedKey;
  onDismiss(): void;
}

/** The new key's secret, shown this once (the API keeps only its hash). */
export function NewKeySecret({ created, onDismiss }: NewKeySecretProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  const secret = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<string | null>(null);

  // Where the user must look now: focus goes there, so screen readers read it too.
  useEffect(() => heading.current?.focus(), []);

  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("Copied.");
    } catch {
      // No clipboard access (e.g. not HTTPS): select it for the user to copy by hand.
      const range = document.createRange();
      if (secret.current) range.selectNodeContents(secret.current);
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
      setCopied("Could not copy: the key is selected, copy it by hand.");
    }
  }

  return (
    <section className="new-key" aria-labelledby="new-key-title">
      <h2 id="new-key-title" ref={heading} tabIndex={-1}>
        Key “{created.name}” created
      </h2>
      <p>
        <strong>Copy it now: it won't be shown again.</strong> Use it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      <p className="new-key__secret">
        <code ref={secret} id="new-key-secret">
          {created.key}
        </code>
      </p>
      <p className="new-key__actions">
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" className="link-button" onClick={onDismiss}>
          Done
        </button>
        <span role="status">{copied}</span>
      </p>
    </section>
  );
}
