"""What every route handler and service needs: the config, the store, the run engine and
the indexing worker of one server."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.server import item_log
from orchestrator.server.config import ServerConfig
from orchestrator.server.engine import Engine
from orchestrator.server.indexing import Indexer
from orchestrator.server.store import Store


@dataclass
class ServerContext:
    config: ServerConfig
    store: Store
    engine: Engine
    indexer: Indexer

    @classmethod
    def build(cls, config: ServerConfig) -> ServerContext:
        """A server's parts, not yet started (the app's lifespan starts and stops them)."""
        store = Store(config.db_path)
        item_log.ensure(store)
        return cls(config=config, store=store, engine=Engine(config, store), indexer=Indexer(store))
