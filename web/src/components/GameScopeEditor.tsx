import { useState, type FormEvent, type KeyboardEvent } from "react";
import type { ValidationEntry } from "../api/client";
import type { GameSelector, Scope } from "../api/plugins";

type Overrides = Scope["game_config"];

export interface GameScopeEditorProps {
  /** The games the plugin is limited to; null: every game. */
  games: GameSelector[] | null | undefined;
  /** Its per-game overrides (null when the key may not read configuration). */
  gameConfig: Record<string, Record<string, unknown>> | null | undefined;
  /** Called with the whole scope to save. */
  onSave(scope: Scope): void;
  /** The API's 422 entries for the last save. */
  errors?: ValidationEntry[];
  saving?: boolean;
}

export function describeGame(game: GameSelector): string {
  return game.game_name ?? `id ${game.game_id ?? ""}`;
}

function sameGame(a: GameSelector, b: GameSelector): boolean {
  if (a.game_id !== undefined || b.game_id !== undefined) return a.game_id === b.game_id;
  return (a.game_name ?? "").toLowerCase() === (b.game_name ?? "").toLowerCase();
}

/** Where a 422 entry points, as a reader would say it: `game_config › Valorant › threshold`. */
function where(entry: ValidationEntry): string {
  return entry.loc.slice(entry.loc[0] === "body" ? 1 : 0).join(" › ");
}

/**
 * The games a plugin runs on (none listed: every game), added and removed one by one, and its
 * configuration overrides per game as JSON (checked by the API against the plugin's schema).
 * Saved together, as one scope.
 */
export function GameScopeEditor({ games, gameConfig, onSave, errors = [], saving = false }: GameScopeEditorProps) {
  const [list, setList] = useState<GameSelector[]>(games ?? []);
  const [entry, setEntry] = useState("");
  const [by, setBy] = useState<"game_name" | "game_id">("game_name");
  const [overrides, setOverrides] = useState(JSON.stringify(gameConfig ?? {}, null, 2));
  const [problem, setProblem] = useState<string | null>(null);

  const add = () => {
    const value = entry.trim();
    if (!value) return;
    const game: GameSelector = by === "game_name" ? { game_name: value } : { game_id: value };
    if (list.some((other) => sameGame(other, game))) {
      setProblem(`${describeGame(game)} is in the list already.`);
      return;
    }
    setProblem(null);
    setList([...list, game]);
    setEntry("");
  };

  const addOnEnter = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // adds the game; it does not save the form
    add();
  };

  const save = (event: FormEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(overrides.trim() || "{}");
    } catch {
      setProblem("The per-game overrides are not valid JSON.");
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setProblem('The per-game overrides must be a JSON object: {"Valorant": {"key": value}}.');
      return;
    }
    setProblem(null);
    onSave({ games: list.length > 0 ? list : null, game_config: parsed as Overrides });
  };

  return (
    <form className="scope" aria-labelledby="games-title" onSubmit={save} noValidate>
      <h2 id="games-title">Games</h2>
      <p className="hint" id="games-hint">
        {list.length > 0
          ? "It runs only on clips of these games (a name matches in any case); other games' clips do not wait for it."
          : "It runs on every game's clips. Add games to limit it to them."}
      </p>
      {list.length > 0 && (
        <ul className="scope__games" aria-label="Games it runs on">
          {list.map((game, i) => (
            <li key={`${game.game_name ?? ""}|${game.game_id ?? ""}`}>
              {describeGame(game)}{" "}
              <button
                type="button"
                aria-label={`Remove ${describeGame(game)}`}
                onClick={() => setList(list.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="scope__add">
        <label>
          Game{" "}
          <input value={entry} onChange={(e) => setEntry(e.target.value)} onKeyDown={addOnEnter} maxLength={200} />
        </label>{" "}
        <label htmlFor="game-by">matched by</label>{" "}
        <select id="game-by" value={by} onChange={(e) => setBy(e.target.value as "game_name" | "game_id")}>
          <option value="game_name">its name</option>
          <option value="game_id">its id</option>
        </select>{" "}
        <button type="button" onClick={add} disabled={!entry.trim()}>
          Add game
        </button>
      </div>
      <label htmlFor="game-config">Per-game overrides (JSON)</label>
      <p className="hint" id="game-config-hint">
        Keys that replace the plugin's own settings for one game's clips, by game name or <code>id:&lt;game id&gt;</code>, e.g.{" "}
        <code>{'{"Valorant": {"max_highlights": 8}}'}</code>.
      </p>
      <textarea
        id="game-config"
        aria-describedby="game-config-hint"
        rows={5}
        spellCheck={false}
        value={overrides}
        onChange={(e) => setOverrides(e.target.value)}
      />
      {(problem || errors.length > 0) && (
        <div role="alert" className="error">
          <ul className="scope__errors">
            {problem && <li>{problem}</li>}
            {errors.map((error, i) => (
              <li key={i}>
                {where(error)}: {error.msg}
              </li>
            ))}
          </ul>
        </div>
      )}
      <button type="submit" disabled={saving}>
        {saving ? "Saving…" : "Save games"}
      </button>
    </form>
  );
}
