"""The tables (DESIGN §4). Changing them means a new numbered migration in store/migrations.

Times are whole microseconds since the Unix epoch, UTC (BigInteger), so that SQLite and
PostgreSQL compare and order them identically.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, SmallInteger, String, Table, Text, UniqueConstraint)

metadata = MetaData()

# An auto-incrementing 64-bit key; SQLite only auto-increments an INTEGER PRIMARY KEY.
PK = BigInteger().with_variant(Integer(), "sqlite")

resource = Table(
    "resource", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("content_hash", LargeBinary(32), nullable=False),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
)

resource_version = Table(
    "resource_version", metadata,
    Column("resource_pk", PK, ForeignKey("resource.pk"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("last_updated", BigInteger, nullable=False),
    Column("method", String(8), nullable=False),        # POST, PUT, PATCH, DELETE
    Column("deleted", Boolean, nullable=False),
    Column("encoding", SmallInteger, nullable=False),    # 0 = JSON, 1 = zlib-compressed JSON
    Column("body", LargeBinary, nullable=False),
)

# The change log is what history and sync read: one row per committed version, in commit order.
change_log = Table(
    "change_log", metadata,
    Column("seq", PK, primary_key=True, autoincrement=True),
    Column("resource_pk", PK, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("base_version", Integer, nullable=True),     # the version this one was edited from
    Column("origin_node", String(64), nullable=False),
    Column("committed_at", BigInteger, nullable=False),
    Index("ix_change_log_type_seq", "res_type", "seq"),
    Index("ix_change_log_resource", "resource_pk", "seq"),
)

audit_event = Table(
    "audit_event", metadata,
    Column("seq", PK, primary_key=True, autoincrement=True),
    Column("recorded", BigInteger, nullable=False),
    Column("action", String(1), nullable=False),        # C R U D E (AuditEvent.action)
    Column("interaction", String(32), nullable=False),  # read, vread, create, search-type …
    Column("outcome", String(2), nullable=False),       # 0 success, 4 minor, 8 serious, 12 major
    Column("agent", String(128), nullable=False),
    Column("source_address", String(64), nullable=True),
    Column("res_type", String(64), nullable=True),
    Column("res_id", String(64), nullable=True),
    Column("version", Integer, nullable=True),
    Column("query", Text, nullable=True),
    Index("ix_audit_event_entity", "res_type", "res_id"),
)

node_setting = Table(
    "node_setting", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def _index_table(name: str, *columns: Column, lookups: tuple[tuple[str, ...], ...]) -> Table:
    table = Table(
        name, metadata,
        Column("resource_pk", PK, ForeignKey("resource.pk"), nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(100), nullable=False),
        *columns,
        # Composite parameters (code-value-quantity …): the rows of one composite value share a
        # group number, so that "code X with value > 100" must hold in the same component.
        Column("grp", SmallInteger, nullable=True),
    )
    Index(f"ix_{name}_resource", table.c.resource_pk)
    for i, cols in enumerate(lookups):
        Index(f"ix_{name}_lookup{i}", table.c.res_type, table.c.param, *(table.c[c] for c in cols))
    return table


# value/exact hold the first 255 characters (indexed); strings longer than that keep their whole
# text in value_long/exact_long (not indexed) so that :contains, :exact and long prefixes stay right.
idx_string = _index_table(
    "idx_string", Column("value", String(255), nullable=False), Column("exact", String(255), nullable=False),
    Column("value_long", Text, nullable=True), Column("exact_long", Text, nullable=True),
    lookups=(("value",),))
idx_token = _index_table(
    "idx_token", Column("system", String(255)), Column("code", String(255)), Column("text", String(255)),
    lookups=(("code", "system"),))
idx_reference = _index_table(
    "idx_reference", Column("target_type", String(64)), Column("target_id", String(64)),
    Column("url", String(255)), lookups=(("target_id", "target_type"), ("url",)))
idx_date = _index_table(
    "idx_date", Column("low", BigInteger, nullable=False), Column("high", BigInteger, nullable=False),
    lookups=(("low",), ("high",)))
idx_number = _index_table(
    "idx_number", Column("value", Float, nullable=False), Column("low", Float, nullable=False),
    Column("high", Float, nullable=False), lookups=(("value",),))
idx_quantity = _index_table(
    "idx_quantity", Column("system", String(255)), Column("code", String(255)),
    Column("value", Float, nullable=False), Column("low", Float, nullable=False),
    Column("high", Float, nullable=False), lookups=(("code", "value"),))
idx_uri = _index_table("idx_uri", Column("uri", String(255), nullable=False), lookups=(("uri",),))

INDEX_TABLES = {
    "string": idx_string, "token": idx_token, "reference": idx_reference, "date": idx_date,
    "number": idx_number, "quantity": idx_quantity, "uri": idx_uri,
}
INDEX_COLUMNS = {
    "string": ("param", "value", "exact", "value_long", "exact_long"),
    "token": ("param", "system", "code", "text"),
    "reference": ("param", "target_type", "target_id", "url"),
    "date": ("param", "low", "high"),
    "number": ("param", "value", "low", "high"),
    "quantity": ("param", "system", "code", "value", "low", "high"),
    "uri": ("param", "uri"),
}
