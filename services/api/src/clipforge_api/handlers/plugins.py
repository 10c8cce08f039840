"""Writing the plugin registry: register, update, delete, enable and disable, configure, backfill.

Every change is announced as `plugin.changed` (with the whole configuration), which every runner
replica applies without a restart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from clipforge.db.models import Backfill, Plugin, PluginConfiguration
from clipforge.db.records import RESULTS_BUDGET_BYTES
from clipforge.events import PluginChanged, Topics
from clipforge.events.contracts import PluginChange
from clipforge_api.config_validation import validate_config
from clipforge_api.schemas import ConfigChange, ConfigCreate, ConfigUpdate, PluginCreate, PluginUpdate
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
    WHERE :every OR NOT jsonb_exists(coalesce(c.metadata -> 'plugins', '{}'::jsonb), :plugin)
    ORDER BY c.created_at
""")


async def configuration_of(uow: UnitOfWork, plugin_id: int) -> dict[str, Any]:
    rows = await uow.session.scalars(
        select(PluginConfiguration).where(PluginConfiguration.plugin_id == plugin_id)
    )
    return {c.key: c.value for c in rows}


async def _announce(uow: UnitOfWork, plugin: Locked[Plugin], change: PluginChange) -> None:
    row = plugin.row
    config = await configuration_of(uow, row.id)
    event = PluginChanged(plugin_id=row.id, name=row.name, change=change, enabled=row.enabled, config=config)
    await uow.emit(Topics.PLUGIN_CHANGED, plugin, event)


def _check_config(plugin: Plugin, config: dict[str, Any], field: str = "config") -> None:
    if errors := validate_config(plugin.plugin_metadata.get("config_schema"), config):
        for error in errors:  # named as the body names them: `config` or `set`
            error["loc"] = ["body", field, *error["loc"][2:]]
        raise Invalid(field, errors[0]["msg"], entries=errors)


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


async def start_backfill(uow: UnitOfWork, plugin_id: int, scope: str = "missing") -> Backfill:
    """Run an enabled plugin over every stored clip that lacks its result (`missing`: the others
    are not run again), or over every clip (`all`: after a fix, to redo them all)."""
    async with uow:
        plugin = (await uow.plugin(plugin_id)).row
        if not plugin.enabled:
            raise Conflict(f"plugin {plugin.name!r} is disabled: enable it first")
        backfill = Backfill(plugin_id=plugin.id, plugin_name=plugin.name, total=0)
        uow.session.add(backfill)
        await uow.session.flush()
        enqueued = await uow.session.execute(
            ENQUEUE_BACKFILL,
            {
                "topic": Topics.CLIP_CAPTURED,
                "plugin": plugin.name,
                "every": scope == "all",
                "backfill_id": backfill.id,
                "results_budget": RESULTS_BUDGET_BYTES,
            },
        )
        uow.emitted_by_statement()
        backfill.total = enqueued.rowcount  # type: ignore[attr-defined]
        await uow.session.flush()
    return backfill
