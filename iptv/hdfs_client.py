"""Small HDFS access for the pipeline: WebHDFS (PyPI ``hdfs``, HdfsCLI) and the ``hdfs dfs`` java shell.

Both are configured from ``hdfs.webhdfs_url``, ``hdfs.default_fs`` and ``hdfs.user`` of the config, so the same
calls work against the local stack and a real cluster (simple auth)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from hdfs import HdfsError, InsecureClient

__all__ = [
    "HdfsError",
    "client",
    "delete",
    "exists",
    "hdfs_shell",
    "hdfs_shell_cmd",
    "list_dir",
    "mkdirs",
    "read_bytes",
    "read_text",
    "write_bytes",
    "write_text",
]


def client(cfg: dict[str, Any], timeout: float = 60.0) -> InsecureClient:
    """A WebHDFS client for the configured NameNode, acting as the configured user."""
    h = cfg["hdfs"]
    return InsecureClient(h["webhdfs_url"], user=h.get("user"), timeout=timeout)


def write_bytes(cfg: dict[str, Any], path: str, data: bytes, *, overwrite: bool = False) -> None:
    """Create ``path`` with ``data`` (parents are created). Fails if it exists unless ``overwrite``."""
    client(cfg).write(path, data=data, overwrite=overwrite)


def write_text(cfg: dict[str, Any], path: str, text: str, *, overwrite: bool = False, encoding: str = "utf-8") -> None:
    write_bytes(cfg, path, text.encode(encoding), overwrite=overwrite)


def read_bytes(cfg: dict[str, Any], path: str) -> bytes:
    with client(cfg).read(path) as reader:
        return reader.read()


def read_text(cfg: dict[str, Any], path: str, encoding: str = "utf-8") -> str:
    return read_bytes(cfg, path).decode(encoding)


def list_dir(cfg: dict[str, Any], path: str, *, status: bool = False) -> list[Any]:
    """Names in a directory (or ``(name, FileStatus dict)`` pairs with ``status=True``)."""
    return client(cfg).list(path, status=status)


def mkdirs(cfg: dict[str, Any], path: str, permission: str | None = None) -> None:
    client(cfg).makedirs(path, permission=permission)


def delete(cfg: dict[str, Any], path: str, *, recursive: bool = False) -> bool:
    """Delete ``path``; True if something was deleted, False if it did not exist."""
    return client(cfg).delete(path, recursive=recursive)


def exists(cfg: dict[str, Any], path: str) -> bool:
    return client(cfg).status(path, strict=False) is not None


def hdfs_shell_cmd(cfg: dict[str, Any], *args: str) -> list[str]:
    """The argv of ``hdfs dfs <args>`` run with java from the stack's Hadoop jars (hdfs:// RPC), e.g.
    ``subprocess.run(hdfs_shell_cmd(cfg, "-cat", "/x"), env=hdfs_shell_env(cfg))``."""
    from iptv.stack.hdfs import Hdfs

    return Hdfs(cfg).shell_cmd(*args)


def hdfs_shell_env(cfg: dict[str, Any]) -> dict[str, str]:
    return {**os.environ, "HADOOP_USER_NAME": str(cfg["hdfs"].get("user", "iptv"))}


def hdfs_shell(
    cfg: dict[str, Any], *args: str, input: bytes | None = None, check: bool = True, timeout: float = 300.0
) -> subprocess.CompletedProcess[bytes]:
    """Run ``hdfs dfs <args>``; stdout/stderr captured as bytes. Raises CalledProcessError if ``check``."""
    res = subprocess.run(
        hdfs_shell_cmd(cfg, *args),
        input=input,
        capture_output=True,
        env=hdfs_shell_env(cfg),
        timeout=timeout,
    )
    if check and res.returncode != 0:
        raise subprocess.CalledProcessError(res.returncode, res.args, res.stdout, res.stderr)
    return res
