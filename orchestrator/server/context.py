"""What every route handler and service needs: the config, the store, the run engine, the
indexing worker and the responses runner of one server."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.server.config import ServerConfig
from orchestrator.server.engine import Engine, item_log
from orchestrator.server.indexing import Indexer
from orchestrator.server.services.responses import ResponseRunner
from orchestrator.server.store import Store


@dataclass
class ServerContext:
    config: ServerConfig
    store: Store
    engine: Engine
    indexer: Indexer
    responses: ResponseRunner

    @classmethod
    def build(cls, config: ServerConfig) -> ServerContext:
        """A server's parts, not yet started (the app's lifespan starts and stops them)."""
        store = Store(config.db_path)
        item_log.ensure(store)
        engine = Engine(config, store)
        return cls(
            config=config,
            store=store,
            engine=engine,
            indexer=Indexer(store),
            responses=ResponseRunner(config, store, engine),
        )
