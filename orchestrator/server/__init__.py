"""The embedded Assistants API v2 server.

``create_app(ServerConfig(...))`` builds the ASGI app; ``orchestrator serve`` runs it
on uvicorn; :mod:`orchestrator.targets` runs it in-process for CLI commands.
"""

from orchestrator.server.app import create_app
from orchestrator.server.config import SandboxLimits, ServerConfig, UpstreamConfig

__all__ = ["SandboxLimits", "ServerConfig", "UpstreamConfig", "create_app"]
