"""The runner's view of the plugin registry in Postgres."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from clipforge.db.models import Plugin, PluginConfiguration
from clipforge.plugin_scope import PluginScope
from clipforge_plugin_runner.discovery import Discovered


@dataclass
class PluginState:
    name: str
    enabled: bool
    config: dict[str, Any] = field(default_factory=dict)
    scope: PluginScope = field(default_factory=PluginScope)
    """The games it runs on, and its configuration overrides per game."""


class PluginRegistry(Protocol):
    """What the plugin host needs of the registry (the database's, or a fake in unit tests)."""

    async def sync_discovered(self, found: Iterable[Discovered]) -> list[str]: ...
    async def enabled(self) -> list[PluginState]: ...
    async def get(self, name: str) -> PluginState | None: ...
    async def record_error(self, name: str, error: str | None) -> None: ...


class Registry:
    """The registry in Postgres."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def sync_discovered(self, found: Iterable[Discovered]) -> list[str]:
        """Upsert every discovered plugin's description; `enabled` is the user's and is kept
        (a new plugin starts as its metadata's `enabled_by_default` says). Returns new names."""
        created = []
        table = Plugin.__table__
        assert isinstance(table, Table)
        async with self._sessions() as session, session.begin():
            for d in sorted(found, key=lambda d: d.name):
                meta = d.metadata
                values: dict[str, Any] = {  # by column name
                    "name": d.name,
                    "display_name": meta.display_name if meta else d.name,
                    "description": meta.description if meta else None,
                    "version": meta.version if meta else "0.0.0",
                    "author": meta.author if meta else None,
                    "plugin_type": meta.plugin_type if meta else "python",
                    "entry_point": d.entry_point[:512],
                    "install_path": d.install_path[:1024],
                    "metadata": {"config_schema": meta.config_schema} if meta else {},
                    "source": "discovered",
                    "load_error": d.error,
                }
                new_row = insert(table).values(
                    **values, enabled=bool(meta and meta.enabled_by_default and not d.error)
                )
                # A file that fails to import must not wipe a good row's description.
                keep = [k for k in values if k not in ("name", "source")] if meta else ["load_error"]
                stmt = new_row.on_conflict_do_update(
                    index_elements=["name"],
                    set_={**{k: new_row.excluded[k] for k in keep}, "updated_at": func.now()},
                ).returning(table.c.name, literal_column("xmax = 0").label("inserted"))
                row = (await session.execute(stmt)).one()
                if row.inserted:
                    created.append(row.name)
        return created

    async def _states(self, session: AsyncSession, *conditions: Any) -> list[PluginState]:
        rows = (
            await session.execute(
                select(Plugin.id, Plugin.name, Plugin.enabled, Plugin.games, Plugin.game_config).where(
                    *conditions
                )
            )
        ).all()
        configs: dict[int, dict[str, Any]] = {r.id: {} for r in rows}
        if rows:
            for c in (
                await session.execute(
                    select(PluginConfiguration).where(PluginConfiguration.plugin_id.in_(list(configs)))
                )
            ).scalars():
                configs[c.plugin_id][c.key] = c.value
        return [
            PluginState(r.name, r.enabled, configs[r.id], PluginScope(r.games, r.game_config)) for r in rows
        ]

    async def enabled(self) -> list[PluginState]:
        async with self._sessions() as session:
            return await self._states(session, Plugin.enabled.is_(True))

    async def get(self, name: str) -> PluginState | None:
        async with self._sessions() as session:
            states = await self._states(session, Plugin.name == name)
        return states[0] if states else None

    async def record_error(self, name: str, error: str | None) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Plugin)
                .where(Plugin.name == name, Plugin.load_error.is_distinct_from(error))
                .values(load_error=error)
            )
