"""The worker's wiring: consumers, their delivery guarantees, and start-up/shut-down."""

from __future__ import annotations

import asyncio
import logging

from faststream import FastStream
from faststream.middlewares import AckPolicy

from clipforge.db.clip_ids import clip_lookup
from clipforge.db.engine import make_engine, make_sessionmaker
from clipforge.events import Topics
from clipforge.messaging import make_broker, provisioned, subscribe_batches
from clipforge.observability import metrics
from clipforge.observability.worker import ConsumerGroup, WorkerOperations
from clipforge.settings import Settings
from clipforge_plugin_runner.captured import SERVICE, CapturedHandler
from clipforge_plugin_runner.discovery import builtin_plugin_dir, folders_fingerprint
from clipforge_plugin_runner.hooks import HookHandlers
from clipforge_plugin_runner.host import PluginHost
from clipforge_plugin_runner.registry import Registry
from clipforge_plugin_runner.sandbox import Isolation

log = logging.getLogger("plugin-runner")

GROUP = "plugin-runner"
HOOKS_GROUP = "plugin-runner-hooks"


def build(settings: Settings) -> FastStream:
    broker = make_broker(
        settings, client_id=f"{SERVICE}-{settings.instance}", middlewares=(metrics.kafka_middleware(SERVICE),)
    )
    engine = make_engine(settings.database_url, pool_size=4)
    builtin = builtin_plugin_dir()
    folders = ([builtin] if builtin else []) + settings.plugin_folders()
    sessions = make_sessionmaker(engine)
    host = PluginHost(
        Registry(sessions),
        folders,
        settings.plugin_timeout_s,
        max_result_bytes=settings.plugin_result_max_bytes,
        isolation=Isolation.from_settings(settings),
    )
    captured = CapturedHandler(broker, host, clip_lookup(sessions), settings)
    hooks = HookHandlers(host, captured.dead_letters)

    runners, hook_runners = ConsumerGroup(GROUP), ConsumerGroup(HOOKS_GROUP)
    # At-least-once: a fetched batch's offsets are committed after every record in it is
    # published or dead-lettered (see CapturedHandler).
    runners.subscriber = subscribe_batches(
        broker,
        Topics.CLIP_CAPTURED,
        captured.on_batch,
        group_id=GROUP,
        max_records=settings.runner_batch_size,
        title="plugin-runner:clip.captured",
        listener=runners.assignment,
    )
    # once per completed run, on one replica (a group of its own, so it never competes with
    # clip.captured for the runners' time)
    enriched = broker.subscriber(
        provisioned(Topics.CLIP_ENRICHED),
        group_id=HOOKS_GROUP,
        auto_offset_reset="latest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="plugin-runner:clip.enriched",
        listener=hook_runners.assignment,
    )
    enriched(hooks.on_clip_enriched)
    hook_runners.subscriber = enriched
    # Every replica must see every registry change: no consumer group, start at the end (the
    # registry read at start-up covers what came before).
    broker.subscriber(
        provisioned(Topics.PLUGIN_CHANGED),
        auto_offset_reset="latest",
        ack_policy=AckPolicy.MANUAL,
        title="plugin-runner:plugin.changed",
    )(hooks.on_plugin_changed)

    app = FastStream(broker, logger=log)
    WorkerOperations(
        service=SERVICE,
        settings=settings,
        http_port=settings.runner_http_port,
        broker=broker,
        engine=engine,
        groups=[runners, hook_runners],
        detail=host.loaded_plugins,
    ).attach(app)

    # taken before the first discovery, so that a plugin dropped in while it runs is rescanned
    fingerprints: list[tuple[tuple[str, tuple[float, ...]], ...]] = []

    @app.on_startup
    async def load_plugins() -> None:
        fingerprints.append(await asyncio.to_thread(folders_fingerprint, folders))
        backoff = 0.5
        while True:
            try:
                await host.start()
                return
            except OSError as exc:  # database not reachable yet
                log.warning("registry unreachable (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    rescans: list[asyncio.Task[None]] = []

    async def watch_folders() -> None:
        fingerprint = fingerprints[0]
        while True:
            await asyncio.sleep(settings.plugin_rescan_s)
            try:
                now = await asyncio.to_thread(folders_fingerprint, folders)
                if now != fingerprint:
                    log.info("plugin folders changed; rescanning")
                    await host.rescan()
                    fingerprint = now
            except Exception:  # a bad plugin file or a database hiccup: try again next round
                log.exception("plugin rescan failed")

    @app.after_startup
    async def start_watching() -> None:
        if settings.plugin_rescan_s > 0:
            rescans.append(asyncio.create_task(watch_folders(), name="plugin-rescan"))

    @app.on_shutdown
    async def unload_plugins() -> None:
        for task in rescans:
            task.cancel()
        await asyncio.gather(*rescans, return_exceptions=True)
        await host.stop()
        await engine.dispose()

    return app
