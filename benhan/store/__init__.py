"""Persistence: resources, versions, search indexes, change log and audit rows on SQLite or
PostgreSQL (dialect differences live in store.database)."""
