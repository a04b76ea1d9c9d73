"""Bring the stack up and down: install on first use, start in dependency order, wait for answers."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from iptv.config import Config
from local_stack import services, with_dependencies
from local_stack.base import Service, StackError

log = logging.getLogger(__name__)


@dataclass
class ServiceStatus:
    name: str
    managed: bool
    up: bool
    address: str
    pids: dict[str, int]


def install(cfg: Config, names: list[str] | None = None) -> None:
    for svc in services(cfg, with_dependencies(names)):
        if svc.managed and not svc.is_installed():
            t0 = time.monotonic()
            log.info("installing %s ...", svc.name)
            svc.install()
            log.info("installed %s in %.0f s", svc.name, time.monotonic() - t0)


def up(cfg: Config, names: list[str] | None = None) -> float:
    """Install what is missing, start what is not running, wait until all answer. Returns seconds."""
    t0 = time.monotonic()
    order = services(cfg, with_dependencies(names))
    install(cfg, [s.name for s in order])
    by_name = {s.name: s for s in order}
    started: dict[str, float] = {}

    def start_and_wait(svc: Service) -> None:
        for dep in svc.depends_on:
            if dep in by_name:
                futures[dep].result()
        if svc.managed:
            if svc.missing_processes():
                svc.start()
                started[svc.name] = time.monotonic()
            svc.wait_ready()
        elif not svc.ready():
            raise StackError(f"{svc.name} (external, {svc.address()}) does not answer")
        svc.post_start()
        log.info("%s is up: %s", svc.name, svc.address())

    # Independent services start side by side; each waits only for its own dependencies.
    with ThreadPoolExecutor(max_workers=len(order) or 1) as pool:
        futures = {}
        for svc in order:
            futures[svc.name] = pool.submit(start_and_wait, svc)
        errors = []
        for name, fut in futures.items():
            try:
                fut.result()
            except StackError as exc:
                errors.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - report every service's failure, not only the first
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
    if errors:
        raise StackError("; ".join(errors))
    return time.monotonic() - t0


def down(cfg: Config, names: list[str] | None = None) -> list[str]:
    """Stop every managed service's processes (reverse order). Returns the names that were running."""
    stopped = []
    for svc in reversed(services(cfg, names)):
        if svc.managed and svc.pid_files():
            if svc.running():
                stopped.append(svc.name)
            svc.stop()
    return stopped


def status(cfg: Config, names: list[str] | None = None) -> list[ServiceStatus]:
    out = []
    for svc in services(cfg, names):
        try:
            answering = svc.ready() if (svc.running() or not svc.managed) else False
        except Exception:  # noqa: BLE001 - a probe failure means "down"
            answering = False
        out.append(ServiceStatus(svc.name, svc.managed, answering, svc.address(), svc.pids()))
    return out
