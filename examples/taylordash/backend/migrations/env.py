"""Alembic environment: the URL comes from DATABASE_URL, converted to the psycopg (3) driver."""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.db import metadata, sqlalchemy_url

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = metadata

# Every app host of a batch may migrate at once: the first takes this lock for
# its transaction, the others wait for it and then find nothing left to apply.
MIGRATION_LOCK = 7274_1301


def database_url():
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set (form: postgresql://user:pass@host:5432/db)")
    return sqlalchemy_url(url)


def run_migrations_offline():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        # One transaction for every pending migration (PostgreSQL's DDL is
        # transactional): a failing one leaves the schema as it was.
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
