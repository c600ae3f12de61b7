"""Alembic migrations against a real PostgreSQL, in a database of their own."""

import psycopg
import pytest
from sqlalchemy.engine import make_url

from conftest import alembic


@pytest.fixture
def scratch_database(postgres):
    url = make_url(postgres)
    name = "migrations_check"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s" % name)
        conn.execute("CREATE DATABASE %s" % name)
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def columns(conn):
    rows = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name = 'projects' ORDER BY ordinal_position").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_upgrade_downgrade_upgrade(scratch_database):
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        cols = columns(conn)
        assert list(cols) == ["id", "name", "description", "created_at", "archived_at"]
        assert cols["id"][0] == "integer" and cols["id"][3].startswith("nextval(")  # serial
        assert cols["name"][:3] == ("character varying", 200, "NO")
        assert cols["description"][0] == "text" and cols["description"][2] == "NO"
        assert cols["description"][3].startswith("''")
        assert cols["created_at"][0] == "timestamp with time zone" and cols["created_at"][2] == "NO"
        assert cols["created_at"][3] == "now()"
        row = conn.execute("INSERT INTO projects (name) VALUES ('x') RETURNING id, description, created_at").fetchone()
        assert row[0] == 1 and row[1] == "" and row[2] is not None
        assert cols["archived_at"][0] == "timestamp with time zone" and cols["archived_at"][2:] == ("YES", None)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
        conn.rollback()

    assert "0002 (head)" in alembic(scratch_database, "current").stdout

    alembic(scratch_database, "downgrade", "base")
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT to_regclass('public.projects')").fetchone() == (None,)

    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (0,)


def test_the_expand_step_keeps_the_previous_version_working(scratch_database):
    """0002 only adds a nullable column: what the version before it sends (its insert names no such column,
    its select names its own columns) works on the new schema, as a start-first upgrade needs."""
    alembic(scratch_database, "upgrade", "0001")
    previous_insert = "INSERT INTO projects (name, description) VALUES ('old', 'from 0001') RETURNING id"
    previous_select = "SELECT id, name, description, created_at FROM projects ORDER BY id"
    with psycopg.connect(scratch_database) as conn:
        conn.execute(previous_insert)
        conn.commit()
    alembic(scratch_database, "upgrade", "head")
    with psycopg.connect(scratch_database) as conn:
        conn.execute(previous_insert)
        rows = conn.execute(previous_select).fetchall()
        assert [row[1] for row in rows] == ["old", "old"]
        assert conn.execute("SELECT count(*) FROM projects WHERE archived_at IS NULL").fetchone() == (2,)
