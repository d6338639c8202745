"""Where detection plugs into ingest without monitoring importing it.

Contract (monitoring's owner fills in the rest of this module, keeping these names):

- ``NormalisedEvent`` (dataclass): ``id`` (str, stable per event: duplicates removable by it), ``source_id``
  (UUID), ``organization_id`` (UUID), ``timestamp`` (aware datetime), ``ecs`` (dict, the ECS document with
  ``event.original``), ``fields`` (dict, the flat vendor field map Sigma rules use), ``system_id`` (UUID | None,
  from registry enrichment), ``observables`` (list of (kind, value) pairs pulled out for indicator matching).
- ``register_consumer(name: str, consume: Callable[[list[NormalisedEvent]], None])``: called in an app's
  ``ready()``; every stored batch is handed to every consumer (detection registers one).
"""
