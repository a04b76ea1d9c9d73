"""The pipeline's HDFS client: WebHDFS through PyPI ``hdfs`` (HdfsCLI), configured from ``hdfs.webhdfs_url`` and
``hdfs.user`` of the config, so the same calls work against the local stack and a real cluster (simple auth).

The local stack uses it too (its readiness probe and the project directories). The NiFi processors keep their own
self-contained copy (``iptv_ingest.hdfs_sections.WebHdfs``); tests/integration/test_hdfs.py runs the same
contract checks against both."""

from __future__ import annotations

from typing import Any

from hdfs import HdfsError, InsecureClient

from iptv.config import Config

__all__ = [
    "HdfsError",
    "client",
    "delete",
    "exists",
    "list_dir",
    "mkdirs",
    "read_bytes",
    "read_text",
    "replace",
    "write_bytes",
    "write_text",
]


def client(cfg: Config, timeout: float = 60.0) -> InsecureClient:
    """A WebHDFS client for the configured NameNode, acting as the configured user."""
    return InsecureClient(cfg.hdfs.webhdfs_url, user=cfg.hdfs.user, timeout=timeout)


def write_bytes(cfg: Config, path: str, data: bytes, *, overwrite: bool = False) -> None:
    """Create ``path`` with ``data`` (parents are created). Fails if it exists unless ``overwrite``."""
    client(cfg).write(path, data=data, overwrite=overwrite)


def write_text(cfg: Config, path: str, text: str, *, overwrite: bool = False, encoding: str = "utf-8") -> None:
    write_bytes(cfg, path, text.encode(encoding), overwrite=overwrite)


def read_bytes(cfg: Config, path: str) -> bytes:
    with client(cfg).read(path) as reader:
        return reader.read()


def read_text(cfg: Config, path: str, encoding: str = "utf-8") -> str:
    return read_bytes(cfg, path).decode(encoding)


def list_dir(cfg: Config, path: str, *, status: bool = False) -> list[Any]:
    """Names in a directory (or ``(name, FileStatus dict)`` pairs with ``status=True``)."""
    return client(cfg).list(path, status=status)


def mkdirs(cfg: Config, path: str, permission: str | None = None) -> None:
    client(cfg).makedirs(path, permission=permission)


def delete(cfg: Config, path: str, *, recursive: bool = False) -> bool:
    """Delete ``path``; True if something was deleted, False if it did not exist."""
    return client(cfg).delete(path, recursive=recursive)


def exists(cfg: Config, path: str) -> bool:
    return client(cfg).status(path, strict=False) is not None


def replace(cfg: Config, src: str, dst: str) -> None:
    """Rename ``src`` to ``dst``, atomically replacing an existing ``dst`` file (WebHDFS RENAME with
    ``renameoptions=OVERWRITE``, the NameNode's rename2): readers see the old file or the new one, never none.
    HdfsCLI's ``rename`` refuses an existing destination, so this goes through its generic RENAME request."""
    c = client(cfg)
    c._rename(src, destination=c.resolve(dst), renameoptions="OVERWRITE")
