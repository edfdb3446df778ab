"""The ``metadata`` every object carries: OpenAI's limits, checked once for all kinds."""

from __future__ import annotations

from typing import Any

from orchestrator.server.errors import invalid


def check_metadata(metadata: dict[str, Any] | None, param: str = "metadata") -> dict[str, str]:
    """OpenAI's metadata limits: at most 16 keys of up to 64 characters, values up to 512."""
    if not metadata:
        return {}
    if len(metadata) > 16:
        raise invalid(
            f"Invalid '{param}': too many properties. Expected an object with at most 16 "
            f"properties, but got an object with {len(metadata)} properties instead.",
            param=param,
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise invalid(
                f"Invalid '{param}': key '{key[:20]}...' is {len(key)} characters long; "
                "keys may have at most 64.",
                param=param,
            )
        if len(value) > 512:
            raise invalid(
                f"Invalid '{param}.{key}': string too long. Expected a string with maximum "
                f"length 512, but got a string with length {len(value)} instead.",
                param=f"{param}.{key}",
            )
    return dict(metadata)
