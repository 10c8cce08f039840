"""Writing the plugin registry: register, update, delete, enable and disable, configure, limit
to some games (with per-game configuration), backfill.

Every change is announced as `plugin.changed` (with the whole configuration and scope), which
every runner replica applies without a restart.
"""

from __future__ import annotations

import json
from typing import Any

from packaging.version import InvalidVersion, Version
from sqlalchemy import select, text

from clipforge.db.models import Backfill, Clip, Plugin, PluginConfiguration
from clipforge.db.records import RESULTS_BUDGET_BYTES
from clipforge.events import PluginChanged, Topics
from clipforge.events.contracts import PluginChange
from clipforge.plugin_scope import GAME_ID_KEY, MAX_GAME_ID_CHARS, PluginScope, key_selector, same_game
from clipforge.sdk.plugin import RUNNER_CONFIG_KEYS
from clipforge.storable import encoded_size
from clipforge_api.config_validation import MAX_CONFIG_BYTES, validate_config
from clipforge_api.schemas import (
    BackfillScope,
    ConfigChange,
    ConfigCreate,
    ConfigUpdate,
    PluginCreate,
    PluginUpdate,
    ScopeUpdate,
)
from clipforge_api.unit_of_work import Conflict, Invalid, Locked, NotFound, UnitOfWork

# A backfill's events are built by Postgres, row by row, so a plugin can be run over any number
# of clips in one statement. The shape is ClipCaptured's (a test holds the two together). They
# are keyed by clips this unit does not lock: a backfill asks for one plugin's run, independent
# of the clip's other events, and runs merge in any order.
ENQUEUE_BACKFILL = text("""
    INSERT INTO outbox (topic, key, payload)
    SELECT :topic, c.id::text, jsonb_build_object(
        'event_id', gen_random_uuid(), 'event_type', 'clip.captured', 'schema_version', 1,
        'occurred_at', to_jsonb(now()), 'clip_id', c.id,
        'clip', CASE
            WHEN octet_length(coalesce(c.metadata -> 'plugins', '{}'::jsonb)::text) <= :results_budget
            THEN to_jsonb(c)
            ELSE to_jsonb(c) || jsonb_build_object(  -- too large for one message: see clip_record
                'metadata', c.metadata - 'plugins',
                'omitted_results',
                (SELECT jsonb_agg(k ORDER BY k) FROM jsonb_object_keys(c.metadata -> 'plugins') k))
        END,
        'plugins', jsonb_build_array(CAST(:plugin AS text)), 'backfill_id', CAST(:backfill_id AS integer))
    FROM clips c
    WHERE CASE CAST(:scope AS text)
            WHEN 'all' THEN true
            WHEN 'missing' THEN NOT jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
            WHEN 'older_version' THEN jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
              AND coalesce(c.metadata #>> ARRAY['plugins', :plugin, '_run', 'version'], '')
                  = ANY(CAST(:versions AS text[]))
            WHEN 'other_config' THEN jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
              AND EXISTS (
                SELECT 1
                FROM unnest(CAST(:config_game_names AS text[]), CAST(:config_game_ids AS text[]),
                            CAST(:config_hashes AS text[])) AS e(game_name, game_id, config_hash)
                WHERE e.game_name IS NOT DISTINCT FROM c.game_name
                  AND e.game_id IS NOT DISTINCT FROM c.game_id
                  AND e.config_hash
                      IS DISTINCT FROM c.metadata #>> ARRAY['plugins', :plugin, '_run', 'config_hash'])
            ELSE false
          END
      AND (:every_game OR c.game_name = ANY(CAST(:game_names AS text[]))
           OR c.game_id = ANY(CAST(:game_ids AS text[])))
    ORDER BY c.created_at
""")

# What a clip's stored result says it was made by: its plugin's version (coalesced as in
# ENQUEUE_BACKFILL: '' for none), and the games of the clips that have a result.
RESULT_VERSIONS = text("""
    SELECT DISTINCT coalesce(c.metadata #>> ARRAY['plugins', :plugin, '_run', 'version'], '')
    FROM clips c WHERE jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
""")
RESULT_GAMES = text("""
    SELECT DISTINCT c.game_name, c.game_id
    FROM clips c WHERE jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
""")


async def configuration_of(uow: UnitOfWork, plugin_id: int) -> dict[str, Any]:
    rows = await uow.session.scalars(
        select(PluginConfiguration).where(PluginConfiguration.plugin_id == plugin_id)
    )
    return {c.key: c.value for c in rows}


async def _announce(uow: UnitOfWork, plugin: Locked[Plugin], change: PluginChange) -> None:
    row = plugin.row
    config = await configuration_of(uow, row.id)
    event = PluginChanged.model_validate(
        {
            "plugin_id": row.id,
            "name": row.name,
            "change": change,
            "enabled": row.enabled,
            "config": config,
            "games": row.games,
            "game_config": row.game_config,
        }
    )
    await uow.emit(Topics.PLUGIN_CHANGED, plugin, event)


def _check_config(plugin: Plugin, config: dict[str, Any], field: str = "config") -> None:
    """The configuration against the plugin's schema, alone and under each of its per-game
    overrides (every configuration a runner may run it with)."""
    schema = plugin.plugin_metadata.get("config_schema")
    if errors := validate_config(schema, config):
        for error in errors:  # named as the body names them: `config` or `set`
            error["loc"] = ["body", field, *error["loc"][2:]]
        raise Invalid(field, errors[0]["msg"], entries=errors)
    for game, override in plugin.game_config.items():
        if errors := validate_config(schema, {**config, **override}):
            for error in errors:
                error["loc"] = ["body", field, *error["loc"][2:]]
                error["msg"] = f"with the override for game {game!r}: {error['msg']}"
            raise Invalid(field, errors[0]["msg"], entries=errors)


def _scope_errors(plugin: Plugin, config: dict[str, Any], body: ScopeUpdate) -> list[dict[str, Any]]:
    """What the API refuses in a scope besides what its schema says: a game listed twice, an
    override for a game the plugin is not limited to, a runner's key (process limits cannot differ
    by game), and an override that, merged over the configuration, does not fit the schema."""
    errors: list[dict[str, Any]] = []

    def refuse(loc: list[str | int], msg: str) -> None:
        errors.append({"loc": ["body", *loc], "msg": msg, "type": "game_scope"})

    games = [g.model_dump() for g in body.games] if body.games is not None else None
    listed = games or []
    for i, game in enumerate(listed):
        if any(same_game(game, earlier) for earlier in listed[:i]):
            refuse(["games", i], f"{json.dumps(game)} is listed already (names are compared ignoring case)")
    keys = list(body.game_config)
    for i, key in enumerate(keys):
        selector = key_selector(key)
        if "game_id" in selector and not 0 < len(selector["game_id"].strip()) <= MAX_GAME_ID_CHARS:
            refuse(
                ["game_config", key],
                f"`{GAME_ID_KEY}` must be followed by a game id (1-{MAX_GAME_ID_CHARS} characters)",
            )
        elif any(same_game(selector, key_selector(earlier)) for earlier in keys[:i]):
            refuse(["game_config", key], "the same game as another key (names are compared ignoring case)")
        elif games is not None and not any(same_game(selector, game) for game in games):
            refuse(
                ["game_config", key],
                f"{json.dumps(selector)} is not one of the games the plugin is limited to",
            )
    schema = plugin.plugin_metadata.get("config_schema")
    for key, override in body.game_config.items():
        for runner_key in sorted(RUNNER_CONFIG_KEYS & override.keys()):
            refuse(["game_config", key, runner_key], "a runner's key: it cannot differ by game")
        for error in validate_config(schema, {**config, **override}):
            refuse(["game_config", key, *error["loc"][2:]], error["msg"])
    if (size := encoded_size(body.game_config)) > MAX_CONFIG_BYTES:
        refuse(["game_config"], f"is {size} bytes as JSON, over {MAX_CONFIG_BYTES}")
    return errors


async def register_plugin(uow: UnitOfWork, body: PluginCreate) -> Plugin:
    """Register a plugin by hand (plugins in the plugin folders register themselves)."""
    async with uow:
        if await uow.session.scalar(select(Plugin.id).where(Plugin.name == body.name)) is not None:
            raise Conflict(f"a plugin named {body.name!r} is already registered")
        plugin = Plugin(plugin_metadata=body.metadata, source="api", **body.model_dump(exclude={"metadata"}))
        added = await uow.add_plugin(plugin)
        await _announce(uow, added, "registered")
    return plugin


async def update_plugin(uow: UnitOfWork, plugin_id: int, body: PluginUpdate) -> Plugin:
    async with uow:
        plugin = await uow.plugin(plugin_id)
        for field, value in body.model_dump(exclude_unset=True).items():
            setattr(plugin.row, "plugin_metadata" if field == "metadata" else field, value)
        await uow.session.flush()
        await uow.session.refresh(plugin.row)
        await _announce(uow, plugin, "updated")
    return plugin.row


async def delete_plugin(uow: UnitOfWork, plugin_id: int) -> None:
    """Unregister the plugin (its configuration goes with it); runners unload it."""
    async with uow:
        plugin = await uow.plugin(plugin_id)
        row = plugin.row
        event = PluginChanged(plugin_id=row.id, name=row.name, change="deleted", enabled=False)
        await uow.session.delete(row)
        await uow.emit(Topics.PLUGIN_CHANGED, plugin, event)


async def set_enabled(uow: UnitOfWork, plugin_id: int, enabled: bool) -> Plugin:
    async with uow:
        plugin = await uow.plugin(plugin_id)
        plugin.row.enabled = enabled
        await uow.session.flush()
        await uow.session.refresh(plugin.row)
        await _announce(uow, plugin, "enabled" if enabled else "disabled")
    return plugin.row


async def _config_row(uow: UnitOfWork, plugin_id: int, config_id: int) -> PluginConfiguration:
    row = await uow.session.scalar(
        select(PluginConfiguration).where(
            PluginConfiguration.id == config_id, PluginConfiguration.plugin_id == plugin_id
        )
    )
    if row is None:
        raise NotFound(f"configuration {config_id} of plugin {plugin_id} not found")
    return row


async def add_config(uow: UnitOfWork, plugin_id: int, body: ConfigCreate) -> PluginConfiguration:
    """Add a configuration key; validated against the plugin's schema, live on the runners."""
    async with uow:
        plugin = await uow.plugin(plugin_id)
        config = await configuration_of(uow, plugin_id)
        if body.key in config:
            raise Conflict(f"plugin {plugin_id} already has a key {body.key!r}")
        _check_config(plugin.row, {**config, body.key: body.value})
        row = PluginConfiguration(plugin_id=plugin_id, key=body.key, value=body.value)
        uow.session.add(row)
        await uow.session.flush()
        await _announce(uow, plugin, "config")
    return row


async def update_config(
    uow: UnitOfWork, plugin_id: int, config_id: int, body: ConfigUpdate
) -> PluginConfiguration:
    async with uow:
        plugin = await uow.plugin(plugin_id)
        row = await _config_row(uow, plugin_id, config_id)
        _check_config(plugin.row, {**await configuration_of(uow, plugin_id), row.key: body.value})
        row.value = body.value
        await uow.session.flush()
        await uow.session.refresh(row)
        await _announce(uow, plugin, "config")
    return row


async def delete_config(uow: UnitOfWork, plugin_id: int, config_id: int) -> None:
    async with uow:
        plugin = await uow.plugin(plugin_id)
        row = await _config_row(uow, plugin_id, config_id)
        remaining = {k: v for k, v in (await configuration_of(uow, plugin_id)).items() if k != row.key}
        _check_config(plugin.row, remaining)
        await uow.session.delete(row)
        await uow.session.flush()
        await _announce(uow, plugin, "config")


async def change_config(uow: UnitOfWork, plugin_id: int, body: ConfigChange) -> list[PluginConfiguration]:
    """Set and remove several keys in one transaction (as a settings form saves): the resulting
    configuration is validated whole, so it is saved entirely or not at all."""
    async with uow:
        plugin = await uow.plugin(plugin_id)
        rows = {
            row.key: row
            for row in await uow.session.scalars(
                select(PluginConfiguration).where(PluginConfiguration.plugin_id == plugin_id)
            )
        }
        after = {key: row.value for key, row in rows.items() if key not in body.unset} | body.set
        _check_config(plugin.row, after, field="set")
        changed = False
        for key in body.unset:
            if (row := rows.pop(key, None)) is not None:
                await uow.session.delete(row)
                changed = True
        for key, value in body.set.items():
            if (row := rows.get(key)) is None:
                rows[key] = row = PluginConfiguration(plugin_id=plugin_id, key=key, value=value)
                uow.session.add(row)
                changed = True
            elif row.value != value:
                row.value, changed = value, True
        await uow.session.flush()
        if changed:
            await _announce(uow, plugin, "config")
    return sorted(rows.values(), key=lambda row: row.key)


async def set_scope(uow: UnitOfWork, plugin_id: int, body: ScopeUpdate) -> Plugin:
    """Limit the plugin to some games (or none: every game) and set its per-game overrides, each
    validated merged over its configuration; live on the runners."""
    async with uow:
        plugin = await uow.plugin(plugin_id)
        if errors := _scope_errors(plugin.row, await configuration_of(uow, plugin_id), body):
            raise Invalid("game_config", errors[0]["msg"], entries=errors)
        plugin.row.games = [g.model_dump() for g in body.games] if body.games is not None else None
        plugin.row.game_config = body.game_config
        await uow.session.flush()
        await uow.session.refresh(plugin.row)
        await _announce(uow, plugin, "scope")
    return plugin.row


async def _scoped_games(uow: UnitOfWork, plugin: Plugin) -> tuple[list[str], list[str]] | None:
    """The stored `game_name`s and the `game_id`s of the plugin's games, for SQL to compare exactly
    (names match ignoring case as Python folds it, whatever the database's collation); None when
    the plugin runs on every game."""
    if plugin.games is None:
        return None
    scope = PluginScope(plugin.games)
    ids = [s["game_id"] for s in plugin.games if "game_id" in s]
    if len(ids) == len(plugin.games):
        return [], ids
    stored = await uow.session.scalars(select(Clip.game_name).where(Clip.game_name.is_not(None)).distinct())
    return [n for n in stored if n is not None and scope.includes(n, None)], ids


async def _older_versions(uow: UnitOfWork, plugin: Plugin, than: str | None) -> list[str]:
    """The versions recorded in the plugin's stored results that are older than `than` (by
    default its registered version), compared as PEP 440 versions (which SQL cannot do); a
    result of no version, or of one that is not a version, counts as older."""
    try:
        current = Version(than if than is not None else plugin.version)
    except InvalidVersion:
        raise Invalid(
            "version", f"the plugin's version {plugin.version!r} is not a version: give one"
        ) from None
    stored = await uow.session.scalars(RESULT_VERSIONS, {"plugin": plugin.name})

    def older(version: str) -> bool:
        try:
            return Version(version) < current
        except InvalidVersion:
            return True

    return sorted(v for v in stored if older(v))


async def _expected_config_hashes(uow: UnitOfWork, plugin: Plugin) -> tuple[list[str | None], ...]:
    """For each game (name and id) of the clips with a result of the plugin, the `config_hash`
    the plugin's current configuration for that game has: three arrays, for SQL to unnest."""
    config = await configuration_of(uow, plugin.id)
    scope = PluginScope(plugin.games, plugin.game_config)
    names: list[str | None] = []
    ids: list[str | None] = []
    hashes: list[str | None] = []
    for game_name, game_id in await uow.session.execute(RESULT_GAMES, {"plugin": plugin.name}):
        names.append(game_name)
        ids.append(game_id)
        hashes.append(scope.config_hash_of(config, game_name, game_id))
    return names, ids, hashes


async def start_backfill(
    uow: UnitOfWork, plugin_id: int, scope: BackfillScope = "missing", version: str | None = None
) -> Backfill:
    """Run an enabled plugin over the stored clips its scope selects: those that lack its result
    (`missing`: the others are not run again), every clip (`all`: after a fix, to redo them
    all), those whose result an older version made (`older_version`: than `version`, by default
    the registered one), or those whose result was made with another configuration than the
    plugin's current one for the clip's game (`other_config`, by `_run.config_hash`). A plugin
    limited to some games, over those games' clips only."""
    async with uow:
        plugin = (await uow.plugin(plugin_id)).row
        if not plugin.enabled:
            raise Conflict(f"plugin {plugin.name!r} is disabled: enable it first")
        versions = await _older_versions(uow, plugin, version) if scope == "older_version" else []
        by_config = await _expected_config_hashes(uow, plugin) if scope == "other_config" else ([], [], [])
        backfill = Backfill(plugin_id=plugin.id, plugin_name=plugin.name, total=0)
        uow.session.add(backfill)
        await uow.session.flush()
        games = await _scoped_games(uow, plugin)
        enqueued = await uow.session.execute(
            ENQUEUE_BACKFILL,
            {
                "topic": Topics.CLIP_CAPTURED,
                "plugin": plugin.name,
                "scope": scope,
                "versions": versions,
                "config_game_names": by_config[0],
                "config_game_ids": by_config[1],
                "config_hashes": by_config[2],
                "backfill_id": backfill.id,
                "results_budget": RESULTS_BUDGET_BYTES,
                "every_game": games is None,
                "game_names": games[0] if games else [],
                "game_ids": games[1] if games else [],
            },
        )
        uow.emitted_by_statement()
        backfill.total = enqueued.rowcount  # type: ignore[attr-defined]
        await uow.session.flush()
    return backfill
