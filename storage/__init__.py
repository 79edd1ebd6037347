"""Storage adapter: SQLAlchemy 2 (async) tables, repositories and the unit of work.

It implements the ports declared in ``domain.ports`` for SQLite (aiosqlite) and PostgreSQL
(asyncpg) with one schema. The domain never imports this package.
"""
