"""The local data platform: Kafka, HDFS, HiveServer2, NiFi 2, PostgreSQL and Superset on loopback.

Each engine is a :class:`local_stack.base.Service` in its own module; :mod:`local_stack.control`
orders them (dependencies first), starts them in parallel where it can and waits until each answers.
"""

from __future__ import annotations

import importlib

from iptv.config import Config
from local_stack.base import Service, StackError

# Start order; a service's depends_on must come earlier in this list.
SERVICE_MODULES: dict[str, str] = {
    "postgres": "local_stack.postgres:Postgres",
    "hdfs": "local_stack.hdfs:Hdfs",
    "kafka": "local_stack.kafka:Kafka",
    "hive": "local_stack.hive:HiveServer",
    "nifi": "local_stack.nifi:Nifi",
    "superset": "local_stack.superset:Superset",
}


def service_class(name: str) -> type[Service]:
    try:
        target = SERVICE_MODULES[name]
    except KeyError:
        raise StackError(f"unknown service {name!r}; known: {', '.join(SERVICE_MODULES)}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def service(name: str, cfg: Config) -> Service:
    return service_class(name)(cfg)


def with_dependencies(names: list[str] | None) -> list[str]:
    """The requested services plus everything they depend on, in start order."""
    if not names:
        return list(SERVICE_MODULES)
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(service_class(name).depends_on)
    return [n for n in SERVICE_MODULES if n in wanted]


def services(cfg: Config, names: list[str] | None = None) -> list[Service]:
    """Service objects for ``names`` (all by default) in start order."""
    for n in names or []:
        service_class(n)  # one-line error for an unknown name
    wanted = names or list(SERVICE_MODULES)
    return [service(n, cfg) for n in SERVICE_MODULES if n in wanted]
