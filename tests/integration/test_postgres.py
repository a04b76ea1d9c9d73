"""PostgreSQL (the Greenplum stand-in): the loader owns and writes, the reader only reads."""

from __future__ import annotations

import uuid

import psycopg2
import psycopg2.errors
import pytest

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
