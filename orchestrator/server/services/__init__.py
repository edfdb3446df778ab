"""The server's services: what the API does, below the routes and above the store.

Routes (:mod:`orchestrator.server.routes`) parse a request and call a service; services
check references, write through the :class:`~orchestrator.server.store.Store` and hand
work to the run engine or the indexing worker on the
:class:`~orchestrator.server.context.ServerContext`. Services never import routes, so a
second wire surface (the Responses API) can call the same functions.
"""
