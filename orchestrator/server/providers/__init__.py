"""Model providers: what generates the assistant's next step inside a run.

:func:`make_model` picks the provider a server was configured with: ``local`` (the
deterministic offline :class:`~orchestrator.server.providers.local.LocalModel`) or
``chat`` (any upstream ``/v1/chat/completions`` endpoint). Both implement the
:class:`~orchestrator.server.providers.base.Model` protocol the run engine consumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.server.providers.base import Model

if TYPE_CHECKING:
    from orchestrator.server.config import ServerConfig
    from orchestrator.server.store import Store

__all__ = ["make_model"]


def make_model(config: ServerConfig, store: Store) -> Model:
    """The model provider for a server with ``config``."""
    if config.model_provider == "local":
        from orchestrator.server.providers.local import LocalModel

        return LocalModel(store)
    if config.model_provider == "chat":
        # Imported lazily: the chat provider's HTTP client stack is not needed locally.
        from orchestrator.server.providers.chat import ChatModel

        return ChatModel(config)
    raise ValueError(
        f"unknown model provider {config.model_provider!r}; expected 'local' or 'chat'."
    )
