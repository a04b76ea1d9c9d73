"""Unit tests run without the stack: the config they load names a Kafka credentials file of throwaway passwords
(the NiFi flow's parameters carry the nifi principal's), not the one the stack generates under .stack/."""

from __future__ import annotations

import json
import secrets

import pytest

from iptv.config import KAFKA_ROLES


@pytest.fixture(autouse=True)
def kafka_credentials_without_the_stack(tmp_path_factory, monkeypatch):
    path = tmp_path_factory.mktemp("secrets") / "kafka-credentials.json"
    path.write_text(json.dumps({role: secrets.token_urlsafe(12) for role in KAFKA_ROLES}), encoding="utf-8")
    monkeypatch.setenv("IPTV__KAFKA__SECURITY__CREDENTIALS_FILE", str(path))
    return path
