"""The plugin registry: what plugins exist, which are enabled, how each is configured.

Every change commits with a `plugin.changed` event (through the outbox), which every runner
replica applies without a restart.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.db.models import Plugin, PluginConfiguration
from clipforge.events import PluginChanged, Topics
from clipforge.events.contracts import PluginChange
from clipforge_api.config_validation import validate_config
from clipforge_api.deps import RelayDep, Session, Snapshot
from clipforge_api.outbox import enqueue
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import (
    ConfigCreate,
    ConfigOut,
    ConfigUpdate,
    Page,
    PluginCreate,
    PluginOut,
    PluginType,
    PluginUpdate,
)

router = APIRouter(prefix="/api/v1/plugins", tags=["plugins"], responses=EVERY_OPERATION)

PluginId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConfigId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _plugin(session: AsyncSession, plugin_id: int, *, lock: bool = False) -> Plugin:
    query = select(Plugin).where(Plugin.id == plugin_id)
    plugin = await session.scalar(query.with_for_update() if lock else query)
    if plugin is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"plugin {plugin_id} not found")
    return plugin


async def _config_of(session: AsyncSession, plugin_id: int) -> dict[str, Any]:
    rows = await session.scalars(
        select(PluginConfiguration).where(PluginConfiguration.plugin_id == plugin_id)
    )
    return {c.key: c.value for c in rows}


async def _announce(session: AsyncSession, plugin: Plugin, change: PluginChange) -> None:
    config = await _config_of(session, plugin.id)
    event = PluginChanged(
        plugin_id=plugin.id, name=plugin.name, change=change, enabled=plugin.enabled, config=config
    )
    await enqueue(session, Topics.PLUGIN_CHANGED, plugin.name, event)


async def _name_taken(session: AsyncSession, name: str) -> bool:
    return (await session.scalar(select(Plugin.id).where(Plugin.name == name))) is not None


@router.get("", response_model=Page[PluginOut])
async def list_plugins(
    session: Snapshot,
    enabled: bool | None = None,
    plugin_type: Annotated[PluginType | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Every registered plugin, including those the runners discovered."""
    conditions: list[ColumnElement[bool]] = []
    if enabled is not None:
        conditions.append(Plugin.enabled.is_(enabled))
    if plugin_type is not None:
        conditions.append(Plugin.plugin_type == plugin_type)
    total = await session.scalar(select(func.count()).select_from(Plugin).where(*conditions))
    items = (
        await session.scalars(
            select(Plugin).where(*conditions).order_by(Plugin.name).limit(limit).offset(offset)
        )
    ).all()
    return {"items": items, "total": total or 0, "limit": limit, "offset": offset}


@router.get("/{plugin_id}", response_model=PluginOut, responses=responses(404))
async def get_plugin(plugin_id: PluginId, session: Session) -> Plugin:
    return await _plugin(session, plugin_id)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=PluginOut, responses=responses(409, location=201)
)
async def register_plugin(
    body: PluginCreate, session: Session, relay: RelayDep, response: Response
) -> Plugin:
    """Register a plugin by hand (plugins in the plugin folders register themselves)."""
    async with session.begin():
        if await _name_taken(session, body.name):
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"a plugin named {body.name!r} is already registered"
            )
        plugin = Plugin(plugin_metadata=body.metadata, source="api", **body.model_dump(exclude={"metadata"}))
        session.add(plugin)
        await session.flush()
        await _announce(session, plugin, "registered")
    relay.wake()
    response.headers["Location"] = f"/api/v1/plugins/{plugin.id}"
    return plugin


@router.put("/{plugin_id}", response_model=PluginOut, responses=responses(404))
async def update_plugin(plugin_id: PluginId, body: PluginUpdate, session: Session, relay: RelayDep) -> Plugin:
    changes = body.model_dump(exclude_unset=True)
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        for field, value in changes.items():
            setattr(plugin, "plugin_metadata" if field == "metadata" else field, value)
        await session.flush()
        await session.refresh(plugin)
        await _announce(session, plugin, "updated")
    relay.wake()
    return plugin


@router.delete("/{plugin_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404))
async def delete_plugin(plugin_id: PluginId, session: Session, relay: RelayDep) -> Response:
    """Unregister the plugin (its configuration goes with it); runners unload it."""
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        event = PluginChanged(plugin_id=plugin.id, name=plugin.name, change="deleted", enabled=False)
        await session.delete(plugin)
        await enqueue(session, Topics.PLUGIN_CHANGED, plugin.name, event)
    relay.wake()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _set_enabled(plugin_id: int, enabled: bool, session: AsyncSession, relay: RelayDep) -> Plugin:
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        plugin.enabled = enabled
        await session.flush()
        await session.refresh(plugin)
        await _announce(session, plugin, "enabled" if enabled else "disabled")
    relay.wake()
    return plugin


@router.post("/{plugin_id}/enable", response_model=PluginOut, responses=responses(404))
async def enable_plugin(plugin_id: PluginId, session: Session, relay: RelayDep) -> Plugin:
    """Runners load the plugin and run it on every new clip from now on."""
    return await _set_enabled(plugin_id, True, session, relay)


@router.post("/{plugin_id}/disable", response_model=PluginOut, responses=responses(404))
async def disable_plugin(plugin_id: PluginId, session: Session, relay: RelayDep) -> Plugin:
    """Runners unload the plugin; clips already processed keep its results."""
    return await _set_enabled(plugin_id, False, session, relay)


# -- configuration -----------------------------------------------------------------------------


async def _config_row(session: AsyncSession, plugin_id: int, config_id: int) -> PluginConfiguration:
    row = await session.scalar(
        select(PluginConfiguration).where(
            PluginConfiguration.id == config_id, PluginConfiguration.plugin_id == plugin_id
        )
    )
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"configuration {config_id} of plugin {plugin_id} not found"
        )
    return row


async def _validate_config(session: AsyncSession, plugin: Plugin, config: dict[str, Any]) -> None:
    errors = validate_config(plugin.plugin_metadata.get("config_schema"), config)
    if errors:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)


@router.get("/{plugin_id}/config", response_model=Page[ConfigOut], responses=responses(404))
async def list_plugin_config(
    plugin_id: PluginId,
    session: Snapshot,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    await _plugin(session, plugin_id)
    where = PluginConfiguration.plugin_id == plugin_id
    total = await session.scalar(select(func.count()).select_from(PluginConfiguration).where(where))
    items = (
        await session.scalars(
            select(PluginConfiguration)
            .where(where)
            .order_by(PluginConfiguration.key)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return {"items": items, "total": total or 0, "limit": limit, "offset": offset}


@router.post(
    "/{plugin_id}/config",
    status_code=status.HTTP_201_CREATED,
    response_model=ConfigOut,
    responses=responses(404, 409, location=201),
)
async def add_plugin_config(
    plugin_id: PluginId, body: ConfigCreate, session: Session, relay: RelayDep, response: Response
) -> PluginConfiguration:
    """Add a configuration key; validated against the plugin's schema, live on the runners."""
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        config = await _config_of(session, plugin_id)
        if body.key in config:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"plugin {plugin_id} already has a key {body.key!r}"
            )
        await _validate_config(session, plugin, {**config, body.key: body.value})
        row = PluginConfiguration(plugin_id=plugin_id, key=body.key, value=body.value)
        session.add(row)
        await session.flush()
        await _announce(session, plugin, "config")
    relay.wake()
    response.headers["Location"] = f"/api/v1/plugins/{plugin_id}/config/{row.id}"
    return row


@router.put("/{plugin_id}/config/{config_id}", response_model=ConfigOut, responses=responses(404))
async def update_plugin_config(
    plugin_id: PluginId, config_id: ConfigId, body: ConfigUpdate, session: Session, relay: RelayDep
) -> PluginConfiguration:
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        row = await _config_row(session, plugin_id, config_id)
        await _validate_config(session, plugin, {**await _config_of(session, plugin_id), row.key: body.value})
        row.value = body.value
        await session.flush()
        await session.refresh(row)
        await _announce(session, plugin, "config")
    relay.wake()
    return row


@router.delete(
    "/{plugin_id}/config/{config_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404)
)
async def delete_plugin_config(
    plugin_id: PluginId, config_id: ConfigId, session: Session, relay: RelayDep
) -> Response:
    async with session.begin():
        plugin = await _plugin(session, plugin_id, lock=True)
        row = await _config_row(session, plugin_id, config_id)
        remaining = {k: v for k, v in (await _config_of(session, plugin_id)).items() if k != row.key}
        await _validate_config(session, plugin, remaining)
        await session.delete(row)
        await session.flush()
        await _announce(session, plugin, "config")
    relay.wake()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
