"""The plugin registry: what plugins exist, which are enabled, how each is configured.

Reads are queries here; every change is a handler (`handlers.plugins`) that commits with a
`plugin.changed` event, which every runner replica applies without a restart.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from clipforge.db.models import Plugin, PluginConfiguration, PluginRun
from clipforge.events.contracts import PluginRunStatus
from clipforge.sdk.plugin import PluginType
from clipforge_api.auth import Admin, Viewer
from clipforge_api.deps import Session, Snapshot, UoW
from clipforge_api.handlers import plugins as handlers
from clipforge_api.responses import EVERY_OPERATION, responses
from clipforge_api.schemas import (
    RECENT_RUNS,
    ConfigChange,
    ConfigCreate,
    ConfigOut,
    ConfigUpdate,
    Page,
    PluginCreate,
    PluginOut,
    PluginUpdate,
    RunSummary,
    ScopeUpdate,
)
from clipforge_api.unit_of_work import NotFound

router = APIRouter(prefix="/plugins", tags=["plugins"], responses=EVERY_OPERATION, dependencies=[Viewer])

PluginId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ConfigId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _plugin(session: AsyncSession, plugin_id: int) -> Plugin:
    plugin = await session.get(Plugin, plugin_id)
    if plugin is None:
        raise NotFound(f"plugin {plugin_id} not found")
    return plugin


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
    rows = (
        await session.scalars(
            select(Plugin).where(*conditions).order_by(Plugin.name).limit(limit).offset(offset)
        )
    ).all()
    return {
        "items": await _with_recent_runs(session, rows),
        "total": total or 0,
        "limit": limit,
        "offset": offset,
    }


@router.get("/{plugin_id}", response_model=PluginOut, responses=responses(404))
async def get_plugin(plugin_id: PluginId, session: Session) -> PluginOut:
    """The plugin, with how its recent runs went."""
    (plugin,) = await _with_recent_runs(session, [await _plugin(session, plugin_id)])
    return plugin


async def _with_recent_runs(session: AsyncSession, plugins: Sequence[Plugin]) -> list[PluginOut]:
    """Each plugin as read, with a summary of its last `RECENT_RUNS` runs (one query for all)."""
    names = [p.name for p in plugins]
    recent = (
        select(PluginRun.status, PluginRun.duration_ms)
        .where(PluginRun.plugin == Plugin.name)
        .order_by(PluginRun.id.desc())
        .limit(RECENT_RUNS)
        .lateral()
    )
    found = await session.execute(
        select(Plugin.name, recent.c.status, recent.c.duration_ms)
        .join(recent, true())
        .where(Plugin.name.in_(names))
    )
    runs: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for name, run_status, duration_ms in found:
        runs[name].append((run_status, duration_ms))
    out = []
    for plugin in plugins:
        mine = runs.get(plugin.name, [])
        counts = Counter(run_status for run_status, _ in mine)
        summary = RunSummary(
            runs=len(mine),
            ok=counts[PluginRunStatus.OK],
            error=counts[PluginRunStatus.ERROR],
            timeout=counts[PluginRunStatus.TIMEOUT],
            skipped=counts[PluginRunStatus.SKIPPED],
            median_ms=statistics.median(d for _, d in mine) if mine else None,
        )
        out.append(PluginOut.model_validate(plugin).model_copy(update={"recent_runs": summary}))
    return out


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PluginOut,
    responses=responses(409, location=201),
    dependencies=[Admin],
)
async def register_plugin(body: PluginCreate, uow: UoW, response: Response) -> Plugin:
    """Register a plugin by hand (plugins in the plugin folders register themselves)."""
    plugin = await handlers.register_plugin(uow, body)
    response.headers["Location"] = f"/api/v1/plugins/{plugin.id}"
    return plugin


@router.put("/{plugin_id}", response_model=PluginOut, responses=responses(404), dependencies=[Admin])
async def update_plugin(plugin_id: PluginId, body: PluginUpdate, uow: UoW) -> Plugin:
    return await handlers.update_plugin(uow, plugin_id, body)


@router.delete(
    "/{plugin_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404), dependencies=[Admin]
)
async def delete_plugin(plugin_id: PluginId, uow: UoW) -> Response:
    """Unregister the plugin (its configuration goes with it); runners unload it."""
    await handlers.delete_plugin(uow, plugin_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{plugin_id}/enable", response_model=PluginOut, responses=responses(404), dependencies=[Admin])
async def enable_plugin(plugin_id: PluginId, uow: UoW) -> Plugin:
    """Runners load the plugin and run it on every new clip from now on."""
    return await handlers.set_enabled(uow, plugin_id, True)


@router.post("/{plugin_id}/disable", response_model=PluginOut, responses=responses(404), dependencies=[Admin])
async def disable_plugin(plugin_id: PluginId, uow: UoW) -> Plugin:
    """Runners unload the plugin; clips already processed keep its results."""
    return await handlers.set_enabled(uow, plugin_id, False)


@router.put("/{plugin_id}/scope", response_model=PluginOut, responses=responses(404), dependencies=[Admin])
async def set_plugin_scope(plugin_id: PluginId, body: ScopeUpdate, uow: UoW) -> Plugin:
    """Limit the plugin to some games (`games`; null: every game) and set its configuration per
    game (`game_config`: each game's keys over its configuration, which must fit its schema, a
    422 naming the game and the key). Replaces the whole scope; live on the runners. A limited
    plugin never runs on another game's clip, and its backfills take only its games' clips."""
    return await handlers.set_scope(uow, plugin_id, body)


# -- configuration -----------------------------------------------------------------------------


@router.get(
    "/{plugin_id}/config", response_model=Page[ConfigOut], responses=responses(404), dependencies=[Admin]
)
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


@router.put(
    "/{plugin_id}/config", response_model=Page[ConfigOut], responses=responses(404), dependencies=[Admin]
)
async def set_plugin_config(plugin_id: PluginId, body: ConfigChange, uow: UoW) -> dict[str, Any]:
    """Set and remove several keys at once, as a settings form saves: all of it or, on any
    error (a 422 naming the key under `set`), none. Answers the whole configuration after."""
    rows = await handlers.change_config(uow, plugin_id, body)
    return {"items": rows, "total": len(rows), "limit": max(len(rows), 1), "offset": 0}


@router.post(
    "/{plugin_id}/config",
    status_code=status.HTTP_201_CREATED,
    response_model=ConfigOut,
    responses=responses(404, 409, location=201),
    dependencies=[Admin],
)
async def add_plugin_config(
    plugin_id: PluginId, body: ConfigCreate, uow: UoW, response: Response
) -> PluginConfiguration:
    """Add a configuration key; validated against the plugin's schema, live on the runners."""
    row = await handlers.add_config(uow, plugin_id, body)
    response.headers["Location"] = f"/api/v1/plugins/{plugin_id}/config/{row.id}"
    return row


@router.put(
    "/{plugin_id}/config/{config_id}",
    response_model=ConfigOut,
    responses=responses(404),
    dependencies=[Admin],
)
async def update_plugin_config(
    plugin_id: PluginId, config_id: ConfigId, body: ConfigUpdate, uow: UoW
) -> PluginConfiguration:
    return await handlers.update_config(uow, plugin_id, config_id, body)


@router.delete(
    "/{plugin_id}/config/{config_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(404),
    dependencies=[Admin],
)
async def delete_plugin_config(plugin_id: PluginId, config_id: ConfigId, uow: UoW) -> Response:
    await handlers.delete_config(uow, plugin_id, config_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
