"""PostgreSQL (the Greenplum stand-in): the loader owns and writes, the reader only reads."""

from __future__ import annotations

import uuid

import psycopg2
import psycopg2.errors
import pytest

from iptv.config import read_credentials
from iptv.db import connect

pytestmark = pytest.mark.integration


@pytest.fixture()
def loader_table(postgres):
    table = f"test_loader_{uuid.uuid4().hex[:8]}"
    conn = connect(postgres, "loader")
    conn.autocommit = True
    yield conn, table
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()


def test_loader_creates_and_queries(postgres, loader_table):
    conn, table = loader_table
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, current_database()")
        assert cur.fetchone() == (postgres.postgres.loader_user, postgres.postgres.database)
        cur.execute(f"CREATE TABLE {table} (channel text PRIMARY KEY, viewers integer NOT NULL)")
        cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [("news", 10), ("sport", 25), ("kids", 7)])
        cur.execute(f"SELECT channel, viewers FROM {table} ORDER BY viewers DESC")
        assert cur.fetchall() == [("sport", 25), ("news", 10), ("kids", 7)]
        cur.execute(f"SELECT sum(viewers) FROM {table}")
        assert cur.fetchone() == (42,)


def test_reader_reads_but_cannot_write(postgres, loader_table):
    conn, table = loader_table
    with conn.cursor() as cur:
        # A new schema and a table created by the loader after the roles were set up (default privileges).
        schema = f"test_schema_{uuid.uuid4().hex[:8]}"
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"CREATE TABLE {schema}.t (x int)")
        cur.execute(f"INSERT INTO {schema}.t VALUES (1), (2)")
        cur.execute(f"CREATE TABLE {table} (x int)")
        cur.execute(f"INSERT INTO {table} VALUES (5)")
    try:
        reader = connect(postgres, "reader")
        try:
            with reader.cursor() as cur:
                cur.execute(f"SELECT x FROM {table}")
                assert cur.fetchall() == [(5,)]
                cur.execute(f"SELECT sum(x) FROM {schema}.t")
                assert cur.fetchone() == (3,)
            reader.rollback()
            for stmt in (
                f"INSERT INTO {table} VALUES (6)",
                f"UPDATE {table} SET x = 0",
                f"DELETE FROM {table}",
                "CREATE TABLE test_reader_forbidden (x int)",
                f"CREATE TABLE {schema}.forbidden (x int)",
                "CREATE SCHEMA test_reader_schema",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege), reader.cursor() as cur:
                    cur.execute(stmt)
                reader.rollback()
        finally:
            reader.close()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")


def test_wrong_password_is_refused(postgres):
    s = postgres.postgres
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=s.host, port=s.port, dbname=s.database, user=s.reader_user,
                         password="not-the-password", connect_timeout=5)  # fmt: skip


def _tcp_login(s, user: str, password: str, dbname: str):
    return psycopg2.connect(host=s.host, port=s.port, dbname=dbname, user=user, password=password,
                            connect_timeout=5)  # fmt: skip


@pytest.fixture()
def admin_tcp(postgres):
    """The admin role over TCP with its generated password (the way a cluster's admin logs in)."""
    s = postgres.postgres
    conn = _tcp_login(s, s.admin_user, read_credentials(s.credentials_file)[s.admin_user], "postgres")
    yield conn
    conn.close()


def test_every_role_logs_in_with_its_password_only(postgres):
    s = postgres.postgres
    creds = read_credentials(s.credentials_file)
    for user, dbname in ((s.loader_user, s.database), (s.reader_user, s.database), (s.admin_user, "postgres")):
        conn = _tcp_login(s, user, creds[user], dbname)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_user")
                assert cur.fetchone() == (user,)
        finally:
            conn.close()
        # Another role's password is a wrong password too.
        other = next(u for u in creds if u != user)
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            _tcp_login(s, user, creds[other], dbname)
        with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
            _tcp_login(s, user, "", dbname)


def test_unknown_role_is_refused(postgres):
    s = postgres.postgres
    creds = read_credentials(s.credentials_file)
    for password in ("guess", creds[s.reader_user]):
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            _tcp_login(s, "iptv_intruder", password, s.database)


def test_server_accepts_scram_passwords_only(admin_tcp):
    with admin_tcp.cursor() as cur:
        cur.execute("SHOW password_encryption")
        assert cur.fetchone() == ("scram-sha-256",)
        cur.execute("SELECT type, user_name, auth_method, error FROM pg_hba_file_rules ORDER BY line_number")
        rules = cur.fetchall()
        assert rules and all(error is None for *_, error in rules), rules
        methods = {(kind, method) for kind, _, method, _ in rules}
        # TCP: SCRAM or reject; the socket: peer (the OS user as admin) or reject. Never trust/md5/password.
        assert methods <= {("host", "scram-sha-256"), ("host", "reject"), ("local", "peer"), ("local", "reject")}
        assert ("host", "scram-sha-256") in methods
        cur.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL")
        stored = dict(cur.fetchall())
        assert stored and all(v.startswith("SCRAM-SHA-256$") for v in stored.values()), sorted(stored)
