import { memo } from "react";
import { Link } from "react-router-dom";
import { posterOf, type Clip } from "../api/clips";
import { posterUrl } from "../api/media";
import { formatDuration, statusLabel } from "./clip/format";
import { StatusBadge } from "./clip/StatusBadge";
import "./clip/common.css";
import "./clip/card.css";

export interface ClipCardProps {
  clip: Clip;
  /** The media token; the poster waits for it. */
  access: string | null;
  /** Cards in the first row load their poster at once; the rest as they scroll into view. */
  eager?: boolean;
}

/**
 * One clip of the library. The title is the link (so the link's name is the title); CSS stretches
 * its click area over the whole card.
 */
export const ClipCard = memo(function ClipCard({ clip, access, eager = false }: ClipCardProps) {
  // The thumbnail route 404s until `thumbnails` has made a poster: not asked for before then.
  const poster = posterOf(clip);
  return (
    <article className="clip-card">
      <div className="clip-card__media">
        {poster && access ? (
          <img
            src={posterUrl(clip.id, access)}
            alt={`Poster of ${clip.title}`}
            width={poster.width ?? undefined}
            height={poster.height ?? undefined}
            loading={eager ? "eager" : "lazy"}
            decoding="async"
          />
        ) : (
          <div className="clip-card__placeholder">{poster ? "Loading poster…" : `No poster yet · ${statusLabel(clip.status)}`}</div>
        )}
      </div>
      <h2 className="clip-card__title">
        <Link to={`/clips/${clip.id}`}>{clip.title}</Link>
      </h2>
      <dl className="clip-card__facts">
        <div>
          <dt className="visually-hidden">Game</dt>
          <dd>{clip.game_name || "No game"}</dd>
        </div>
        <div>
          <dt className="visually-hidden">Duration</dt>
          <dd>{formatDuration(clip.duration)}</dd>
        </div>
        <div>
          <dt className="visually-hidden">Status</dt>
          <dd>
            <StatusBadge status={clip.status} />
          </dd>
        </div>
      </dl>
    </article>
  );
});
