"""Database URL handling, engine and the table definition (created by Alembic, never by the app)."""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, text
from sqlalchemy.engine import make_url

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)


def sqlalchemy_url(database_url):
    """postgresql://user:pass@host:5432/db -> the same URL for SQLAlchemy's psycopg (3) driver."""
    url = make_url(database_url)
    if url.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL, got scheme %r" % url.drivername)
    return url.set(drivername="postgresql+psycopg")


def make_engine(database_url, connect_timeout=3):
    return create_engine(sqlalchemy_url(database_url), pool_pre_ping=True,
                         connect_args={"connect_timeout": connect_timeout})
