"""A plugin's per-game scope: the games whose clips it runs on, and its configuration per game.

Declared once here for the API (which validates and stores a scope, and limits a backfill to it)
and the runners (which leave a plugin out of the runs of other games' clips, and run it on a
game's clips with that game's configuration).

- `games`: None means every game. Otherwise a list of selectors, each `{"game_name": ...}` or
  `{"game_id": ...}`; a clip is in scope when one of them matches it: its `game_name` equal
  ignoring case (`str.casefold`: "VALORANT" is "Valorant"), or its `game_id` equal exactly (an id
  is an identifier). A clip without a game is in no limited plugin's scope.
- `game_config`: game key -> a partial configuration whose keys override the plugin's own for
  that game's clips. A key is a game name (matched as a `game_name` selector is), or
  `id:<game_id>`. When a clip matches both a name entry and an `id:` entry, the `id:` entry (the
  more specific) applies alone: what runs is always the plugin's configuration under one
  override, which is what the API validated.

Every stored result records the configuration it ran with as `config_hash` (see `config_hash`),
so that a backfill can redo the clips made with another configuration than today's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from clipforge.sdk.plugin import RUNNER_CONFIG_KEYS
from clipforge.storable import NON_BLANK_PATTERN, check_text

GAME_ID_KEY = "id:"
"""The prefix of a `game_config` key that names a game by id (`id:21779`)."""

MAX_GAMES = 100
"""The most games a plugin can be limited to, and the most per-game overrides it can have."""

CONFIG_HASH_CHARS = 16
"""How many hex digits of the sha256 a `config_hash` keeps."""

MAX_GAME_ID_CHARS = 100  # as a clip's game_id
MAX_GAME_NAME_CHARS = 200  # as a clip's game_name


def _game_text(max_chars: int) -> Callable[[Any], str]:
    """A selector's text field: left out, or a string that is not blank. One validator (not a
    union with None), so that an error is one message naming the field."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string (or be left out)")
        if not value.strip():
            raise ValueError("must not be blank")
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters")
        return check_text(value)

    return check


def _text_schema(max_chars: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": NON_BLANK_PATTERN}


GameName = Annotated[
    str | None,
    PlainValidator(_game_text(MAX_GAME_NAME_CHARS)),
    WithJsonSchema(_text_schema(MAX_GAME_NAME_CHARS)),
]
GameId = Annotated[
    str | None, PlainValidator(_game_text(MAX_GAME_ID_CHARS)), WithJsonSchema(_text_schema(MAX_GAME_ID_CHARS))
]


class GameSelector(BaseModel):
    """One game a plugin runs on: `{"game_name": ...}` (clips whose game_name is this one,
    ignoring case) or `{"game_id": ...}` (clips whose game_id is exactly this one)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "minProperties": 1,
            "maxProperties": 1,
            "examples": [{"game_name": "Valorant"}, {"game_id": "21779"}],
        },
    )

    game_name: GameName = Field(None, exclude_if=lambda v: v is None)
    game_id: GameId = Field(None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _one_game(self) -> GameSelector:
        if (self.game_name is None) == (self.game_id is None):
            raise ValueError('a game is {"game_name": "..."} or {"game_id": "..."}, one of them')
        return self


def same_name(a: str, b: str) -> bool:
    """Game names are compared ignoring case."""
    return a.casefold() == b.casefold()


def key_selector(key: str) -> dict[str, str]:
    """The selector a `game_config` key stands for: `id:21779` -> {"game_id": "21779"},
    `Valorant` -> {"game_name": "Valorant"}."""
    if key.startswith(GAME_ID_KEY):
        return {"game_id": key[len(GAME_ID_KEY) :]}
    return {"game_name": key}


def selects(selector: Mapping[str, str], game_name: str | None, game_id: str | None) -> bool:
    """Whether the selector matches a clip of this game."""
    if "game_id" in selector:
        return game_id is not None and selector["game_id"] == game_id
    name = selector.get("game_name")
    return name is not None and game_name is not None and same_name(name, game_name)


def same_game(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two selectors name the same game (so one of them is redundant)."""
    if "game_id" in a or "game_id" in b:
        return a.get("game_id") == b.get("game_id")
    return same_name(a.get("game_name", ""), b.get("game_name", ""))


@dataclass(frozen=True)
class PluginScope:
    """One plugin's scope, as stored on its registry row (`plugins.games`, `plugins.game_config`)."""

    games: Sequence[Mapping[str, str]] | None = None
    game_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def includes(self, game_name: str | None, game_id: str | None) -> bool:
        """Whether the plugin runs on clips of this game."""
        return self.games is None or any(selects(s, game_name, game_id) for s in self.games)

    def includes_clip(self, clip: Mapping[str, Any]) -> bool:
        return self.includes(clip.get("game_name"), clip.get("game_id"))

    def override_key(self, game_name: str | None, game_id: str | None) -> str | None:
        """The `game_config` key whose override applies to clips of this game (its `id:` entry
        before its name's), or None."""
        by_name = None
        for key in self.game_config:
            selector = key_selector(key)
            if selects(selector, game_name, game_id):
                if "game_id" in selector:
                    return key
                by_name = by_name or key
        return by_name

    def override_key_of(self, clip: Mapping[str, Any]) -> str | None:
        return self.override_key(clip.get("game_name"), clip.get("game_id"))

    def configurations(self, config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Each game key's configuration: the plugin's own with that game's keys over it."""
        return {key: {**config, **override} for key, override in self.game_config.items()}

    def config_hashes(self, config: Mapping[str, Any]) -> dict[str | None, str]:
        """The `config_hash` of each configuration the plugin runs with: None's is the plugin's
        own (clips of games without an override), each game key's that game's."""
        return {None: config_hash(config)} | {
            key: config_hash(game_config) for key, game_config in self.configurations(config).items()
        }

    def config_hash_of(self, config: Mapping[str, Any], game_name: str | None, game_id: str | None) -> str:
        """The `config_hash` of the configuration the plugin runs with on clips of this game."""
        key = self.override_key(game_name, game_id)
        return config_hash({**config, **self.game_config[key]} if key is not None else config)


def config_hash(config: Mapping[str, Any]) -> str:
    """A short stable name for the configuration a plugin ran with (its values as the registry
    holds them, with the clip's game's override over them): the first `CONFIG_HASH_CHARS` hex
    digits of the sha256 of its canonical JSON (keys sorted, no spaces). The runner's own keys
    (`RUNNER_CONFIG_KEYS`: time and resource limits) are left out: they do not change results.
    Recorded in every stored result (`_run.config_hash`), compared by the API's backfill."""
    own = {k: v for k, v in config.items() if k not in RUNNER_CONFIG_KEYS}
    canonical = json.dumps(own, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:CONFIG_HASH_CHARS]
