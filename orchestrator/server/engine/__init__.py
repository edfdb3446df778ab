"""The run engine: executes runs outside the request, on the server's event loop.

- :mod:`.runs`: :class:`Engine`, a run's life (queued, slots, cancel, expiry, restart
  recovery, the event log).
- :mod:`.executor`: one run's model rounds as Assistants objects and events.
- :mod:`.responses`: one response's model rounds as Responses output items and
  ``response.*`` events; :mod:`.response_prompt` (items as the model's request),
  :mod:`.items` (input items as stored and returned), :mod:`.item_log` (ordered item
  lists of conversations and responses).
- Wire-surface neutral parts both surfaces share: :mod:`.citations` (reply text cut
  into cited deltas), :mod:`.file_search_call` and :mod:`.code_call` (the built-in
  tools' execution); the model providers are :mod:`orchestrator.server.providers`.
"""

from orchestrator.server.engine.runs import POLL_AFTER_MS, Engine

__all__ = ["POLL_AFTER_MS", "Engine"]
