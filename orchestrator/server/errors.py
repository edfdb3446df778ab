"""API errors with OpenAI's body shape: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class APIError(Exception):
    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(kind: str, object_id: str) -> APIError:
    # OpenAI's wording, which client code sometimes matches on.
    return APIError(404, f"No {kind} found with id '{object_id}'.", code=None)
