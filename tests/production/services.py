"""The services a production cluster stands on: a fresh PostgreSQL database and a Redis namespace.

Each run gets its own database (``clipgen_<random>``: the metadata database and the Celery result
backend) and its own Redis namespace (a database number plus a key and fan-out prefix for the
Celery broker), and removes both afterwards, so runs never see each other's rows, queues or
messages, and nothing is left behind. Both services are expected on loopback (the CI machine
runs them); :func:`require_services` says how to start one that is down.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg2
import redis
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection

PG_HOST = os.environ.get("CLIPGEN_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CLIPGEN_PG_PORT", "5432"))
PG_USER = os.environ.get("CLIPGEN_PG_USER", "postgres")
#: an existing database to connect to while creating and dropping the run's own
PG_ADMIN_DB = os.environ.get("CLIPGEN_PG_ADMIN_DB", "test")
REDIS_HOST = os.environ.get("CLIPGEN_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("CLIPGEN_REDIS_PORT", "6379"))

START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
        "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}

#: pg_stat_database counters kept by :meth:`MetadataDatabase.stats`
STAT_COLUMNS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


class ServiceUnavailable(RuntimeError):
    """PostgreSQL or Redis does not answer on loopback."""


def _pg_connect(dbname: str) -> PgConnection:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=5)
    conn.autocommit = True
    return conn


def _admin(statement: sql.Composable) -> None:
    """Run a statement that must not be in a transaction (CREATE/DROP DATABASE)."""
    conn = _pg_connect(PG_ADMIN_DB)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def require_services() -> None:
    """Raise :class:`ServiceUnavailable`, with the command that starts it, if a service is down."""
    problems = []
    try:
        _pg_connect(PG_ADMIN_DB).close()
    except psycopg2.Error as err:
        problems.append(("PostgreSQL", f"{PG_HOST}:{PG_PORT}", type(err).__name__))
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=5).ping()
    except redis.RedisError as err:
        problems.append(("Redis", f"{REDIS_HOST}:{REDIS_PORT}", type(err).__name__))
    if problems:
        raise ServiceUnavailable(
            "\n".join(
                f"{name} is not reachable at {where} ({error}); start it with: {START_HINTS[name]}"
                for name, where, error in problems
            )
        )


@dataclass
class MetadataDatabase:
    """A PostgreSQL database made for one run: Airflow's metadata and Celery's results."""

    name: str

    @classmethod
    def create(cls) -> MetadataDatabase:
        """Create ``clipgen_<random>`` (empty; ``airflow db migrate`` fills it)."""
        database = cls(f"clipgen_{secrets.token_hex(6)}")
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
        return database

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database (psycopg2; Airflow derives the asyncpg one from it)."""
        return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    @property
    def celery_result_backend(self) -> str:
        """Celery's database result backend on this same database."""
        return f"db+{self.url}"

    def connect(self) -> PgConnection:
        """A new autocommit connection to this database (close it when done)."""
        return _pg_connect(self.name)

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run one read-only statement on a short-lived connection; return its rows."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def stats(self) -> dict[str, int]:
        """This database's cumulative ``pg_stat_database`` counters (see :data:`STAT_COLUMNS`).

        PostgreSQL publishes a backend's counters at most once a second while it is busy and
        within about ten seconds once it is idle, so read them well after the activity measured.
        """
        columns = ", ".join(STAT_COLUMNS)
        (row,) = self.query(f"SELECT {columns} FROM pg_stat_database WHERE datname = %s", self.name)
        return dict(zip(STAT_COLUMNS, (int(value) for value in row), strict=True))

    def table_stats(self) -> dict[str, dict[str, int]]:
        """Per table: rows read by sequential and index scans, rows written (``pg_stat_user_tables``)."""
        rows = self.query(
            "SELECT relname, seq_tup_read, idx_tup_fetch, n_tup_ins + n_tup_upd + n_tup_del "
            "FROM pg_stat_user_tables"
        )
        return {
            str(name): {"seq_read": int(seq or 0), "idx_fetch": int(idx or 0), "written": int(written or 0)}
            for name, seq, idx, written in rows
        }

    def drop(self) -> None:
        """Drop the database, closing whatever connections are still open to it."""
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


@dataclass
class RedisNamespace:
    """A Redis database number and a key prefix for one run's Celery broker."""

    db: int
    prefix: str

    @classmethod
    def create(cls) -> RedisNamespace:
        """A random database number (1-15; 0 is everyone's default) and a unique prefix."""
        return cls(db=1 + secrets.randbelow(15), prefix=f"clipgen_{secrets.token_hex(6)}_")

    @property
    def broker_url(self) -> str:
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.db}"

    @property
    def transport_options(self) -> dict[str, str]:
        """Kombu options that keep every key of the run under its prefix.

        Kombu prefixes the pub/sub channels (``PUBLISH``/``SUBSCRIBE``, the workers' remote
        control) with it too; ``fanout_prefix`` must stay kombu's own (``/{db}.``), which it parses.
        """
        return {"global_keyprefix": self.prefix}

    def _client(self) -> redis.Redis:
        return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.db, socket_timeout=10)

    def keys(self) -> list[str]:
        """The run's keys (queues, unacked messages, bindings)."""
        client = self._client()
        try:
            return [key.decode() for key in client.scan_iter(match=f"{self.prefix}*", count=1000)]
        finally:
            client.close()

    def clear(self) -> None:
        """Delete every key of the run (never the rest of the database)."""
        client = self._client()
        try:
            for key in client.scan_iter(match=f"{self.prefix}*", count=1000):
                client.delete(key)
        finally:
            client.close()
