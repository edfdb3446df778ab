"""Run engine (to be completed): executes runs outside requests."""

from __future__ import annotations

from orchestrator.server.config import ServerConfig
from orchestrator.server.store import Store


class Engine:
    def __init__(self, config: ServerConfig, store: Store) -> None:
        self.config = config
        self.store = store

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
