"""Shared fixtures. Integration tests ask for a service fixture (``kafka``, ``hdfs``, ``hive``, ``nifi``,
``postgres``): the session starts that service (and what it depends on) if it is not running, and at the
end stops exactly the services this session started, so no process outlives the tests it served."""

from __future__ import annotations

import logging

import pytest

from iptv.config import Config, load_config
from local_stack import control, service, with_dependencies

log = logging.getLogger(__name__)


class PlatformForTests:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.started: list[str] = []

    def require(self, name: str) -> Config:
        for dep in with_dependencies([name]):
            svc = service(dep, self.cfg)
            if svc.managed and not svc.running() and dep not in self.started:
                self.started.append(dep)
        control.up(self.cfg, [name])
        return self.cfg

    def stop_started(self) -> None:
        if self.started:
            log.info("stopping services started by the tests: %s", ", ".join(self.started))
            control.down(self.cfg, self.started)


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def platform_for_tests(cfg):
    plat = PlatformForTests(cfg)
    yield plat
    plat.stop_started()


@pytest.fixture(scope="session")
def kafka(platform_for_tests):
    return platform_for_tests.require("kafka")


@pytest.fixture(scope="session")
def hdfs(platform_for_tests):
    return platform_for_tests.require("hdfs")


@pytest.fixture(scope="session")
def hive(platform_for_tests):
    return platform_for_tests.require("hive")


@pytest.fixture(scope="session")
def nifi(platform_for_tests):
    return platform_for_tests.require("nifi")


@pytest.fixture(scope="session")
def postgres(platform_for_tests):
    return platform_for_tests.require("postgres")
