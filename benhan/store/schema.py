"""The tables (DESIGN §4). Changing them means a new numbered migration in store/migrations.

Times are whole microseconds since the Unix epoch, UTC (BigInteger), so that SQLite and
PostgreSQL compare and order them identically.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer, LargeBinary,
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
    # --- 0002: who acted, for whom, and the hash chain (audit.chain) ---
    Column("subtype", String(32), nullable=True),       # login, logout, break-glass, print, export, sign …
    Column("role", String(128), nullable=True),         # the agent's roles, space-separated
    Column("client_id", String(64), nullable=True),     # the OAuth client the request came through
    Column("purpose", String(16), nullable=True),       # BTG while break-the-glass covered the access
    Column("patients", Text, nullable=True),            # patient ids concerned, space-separated
    Column("detail", Text, nullable=True),              # JSON: what else the event needs to be read alone
    # Chain position and hash are assigned under one lock (audit_chain_head), in commit order, so
    # that a row altered, removed or inserted afterwards breaks the chain at that position.
    Column("chain_pos", BigInteger, nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ux_audit_event_chain_pos", "chain_pos", unique=True),
    # --- 0003: the auditor's searches by date and by user
    Index("ix_audit_event_recorded", "recorded"),
    Index("ix_audit_event_agent", "agent", "seq"),
)

# "Who looked at this patient's record": one row per (event, patient), indexed by patient.
audit_patient = Table(
    "audit_patient", metadata,
    Column("seq", PK, ForeignKey("audit_event.seq"), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Index("ix_audit_patient_patient", "patient_id", "seq"),
)

# The last link of the audit chain; its row is locked by every transaction that appends events.
audit_chain_head = Table(
    "audit_chain_head", metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("chain_pos", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

node_setting = Table(
    "node_setting", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def _index_table(name: str, *columns: Column, lookups: tuple[tuple[str, ...], ...],
                 sparse: tuple[str, ...] = ()) -> Table:
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
        # A lookup on a `sparse` column (NULL in most rows) is a partial index of its non-NULL rows:
        # each insert of a row whose value is NULL maintains one index less. A query uses it only
        # when its WHERE implies `col IS NOT NULL`: `col = ?` does; PostgreSQL takes it for
        # search.py's `url = ? OR url LIKE '…|%'` too, SQLite (no statistics) lookup0's
        # (res_type, param) for that one, as before (EXPLAIN, migration 0011).
        where = next((table.c[c].is_not(None) for c in cols if c in sparse), None)
        kw = {} if where is None else {"sqlite_where": where, "postgresql_where": where}
        Index(f"ix_{name}_lookup{i}", table.c.res_type, table.c.param, *(table.c[c] for c in cols), **kw)
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
    Column("url", String(255)), lookups=(("target_id", "target_type"), ("url",)),
    # url is NULL for every local reference (Type/id), i.e. almost all of them (migration 0011).
    sparse=("url",))
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


# --- users, sessions, OAuth clients and tokens, break-the-glass (0002; auth/) -------------------

user_account = Table(
    "user_account", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),   # lower-case
    Column("display_name", String(200), nullable=False),
    Column("roles", Text, nullable=False),                          # space-separated role codes
    Column("departments", Text, nullable=False),                    # Organization ids, space-separated; * = all
    Column("practitioner_id", String(64), nullable=True),           # FHIR Practitioner/{id}
    Column("password_hash", Text, nullable=True),                   # argon2id
    Column("password_changed", BigInteger, nullable=True),
    Column("must_change_password", Boolean, nullable=False),
    Column("totp_secret", String(64), nullable=True),
    Column("mfa_enabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
    Column("last_login", BigInteger, nullable=True),
    Column("last_activity", BigInteger, nullable=True),
    Column("access_hours", Text, nullable=True),                    # e.g. "Mon-Sat 07:00-17:30"
    Column("sessions_valid_after", BigInteger, nullable=False),     # logout everywhere
    Column("created", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
    Column("disabled_reason", String(200), nullable=True),
)

user_session = Table(
    "user_session", metadata,
    Column("id_hash", String(64), primary_key=True),                # sha256 of the cookie value
    Column("user_pk", PK, ForeignKey("user_account.pk"), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("mfa_passed", Boolean, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("source_address", String(64), nullable=True),
    Column("user_agent", String(200), nullable=True),
    Column("ended_at", BigInteger, nullable=True),
    Index("ix_user_session_user", "user_pk"),
)

oauth_client = Table(
    "oauth_client", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),                     # system (backend service) or app
    Column("auth_method", String(32), nullable=False),              # private_key_jwt, none, client_secret_basic
    Column("jwks", Text, nullable=True),                            # public keys (JSON), private_key_jwt
    Column("jwks_url", Text, nullable=True),
    Column("secret_hash", Text, nullable=True),
    Column("redirect_uris", Text, nullable=False),                  # space-separated
    Column("scopes", Text, nullable=False),                         # the most it may be granted
    Column("created", BigInteger, nullable=False),
    Column("disabled_at", BigInteger, nullable=True),
)

oauth_token = Table(
    "oauth_token", metadata,
    Column("token_hash", String(64), primary_key=True),             # sha256 of the token
    Column("kind", String(8), nullable=False),                      # access, refresh
    Column("client_id", String(64), nullable=False),
    Column("user_pk", PK, nullable=True),
    Column("scope", Text, nullable=False),
    Column("patient_id", String(64), nullable=True),                # SMART launch context
    Column("issued", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("family", String(64), nullable=True),                    # refresh and its access tokens
    Index("ix_oauth_token_family", "family"),
)

oauth_code = Table(
    "oauth_code", metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_pk", PK, nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("code_challenge", String(128), nullable=True),
    Column("code_challenge_method", String(8), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("nonce", String(255), nullable=True),
    Column("issued", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

# JWT client assertions already used (jti), kept until they expire: a replayed assertion is refused.
oauth_assertion = Table(
    "oauth_assertion", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires", BigInteger, nullable=False),
)

break_glass = Table(
    "break_glass", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("user_pk", PK, ForeignKey("user_account.pk"), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
    Column("reviewed_by", PK, nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    Column("review_note", Text, nullable=True),
    Index("ix_break_glass_user", "user_pk", "expires"),
)


# --- sync between facility nodes and the hub (0004; benhan/sync/, store/sync_tables.py) ---------
# A node keeps its cursors and enrolment in node_setting (keys "sync.*"); these tables hold what
# both ends need beyond that: the hub's enrolled nodes, the batches it answered, what each node may
# receive, and (at both ends) the review queues of conflicts and duplicate patients.

# Hub: one row per node invited or enrolled.
sync_node = Table(
    "sync_node", metadata,
    Column("name", String(64), primary_key=True),
    Column("node_id", String(64), nullable=True, unique=True),     # the node's change-log origin
    Column("client_id", String(64), nullable=True),                # its OAuth client (private_key_jwt)
    Column("invite_client", String(64), nullable=True),            # client of the one-time invite token
    Column("organization_id", String(64), nullable=True),          # the facility (referrals name it)
    Column("invited_at", BigInteger, nullable=False),
    Column("enrolled_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Column("last_contact", BigInteger, nullable=True),
    Column("push_seq", BigInteger, nullable=False),                # last node change-log seq applied
    Column("audit_seq", BigInteger, nullable=False),               # last node audit seq recorded
    Column("backlog", BigInteger, nullable=True),                  # changes the node said it still holds
    Column("pull_seq", BigInteger, nullable=True),                 # hub seq the node last pulled up to
)

# Hub: bytes exchanged with each node per day (UTC date), for the dashboard.
sync_traffic = Table(
    "sync_traffic", metadata,
    Column("node_name", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("bytes_in", BigInteger, nullable=False),
    Column("bytes_out", BigInteger, nullable=False),
)

# Hub: every push batch answered, so that a replay gets the same answer.
sync_batch = Table(
    "sync_batch", metadata,
    Column("batch_id", String(160), primary_key=True),              # node:first_seq-last_seq
    Column("node_name", String(64), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("response", Text, nullable=False),                      # JSON
)

# Hub: patients a node receives besides shared data (its own, fetched on demand; referrals are
# found from ServiceRequest.performer at pull time).
sync_scope = Table(
    "sync_scope", metadata,
    Column("node_name", String(64), primary_key=True),
    Column("patient_id", String(64), primary_key=True),
    Column("reason", String(16), nullable=False),                  # home, fetch
    Column("added_at", BigInteger, nullable=False),
)

# Hub: the change log classified once for the pull (0010; store/sync_tables.build_feed): one row
# per change-log row and key — "*" shared data (outside the Patient compartment), a patient id for
# a row about that patient, "~" a row judged by its own body at the pull (a deletion, a version no
# longer current when classified). A pull reads the keys of its scope, not every node's traffic.
sync_feed = Table(
    "sync_feed", metadata,
    Column("scope_key", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("origin_node", String(64), nullable=False),
)

# Both ends: edits set aside because another version took their place (review queue).
sync_conflict = Table(
    "sync_conflict", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),                    # conflict, merged, invalid
    Column("status", String(12), nullable=False),                  # open, resolved, merged
    Column("origin_node", String(64), nullable=False),             # whose edit was set aside
    Column("base_version", Integer, nullable=True),                # the version it was edited from
    Column("kept_version", Integer, nullable=False),               # the version that holds the slot
    Column("their_versions", Text, nullable=False),                # versions set aside, space-separated
    Column("their_deleted", Boolean, nullable=False),
    Column("their_body", LargeBinary, nullable=True),              # the set-aside JSON
    Column("base_body", LargeBinary, nullable=True),               # the JSON it was edited from (0005)
    Column("their_agent", String(128), nullable=True),
    Column("their_seq", BigInteger, nullable=True),                # origin seq of the latest one
    Column("detected_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    Column("resolved_by", String(128), nullable=True),
    Column("resolved_version", Integer, nullable=True),
    Index("ix_sync_conflict_resource", "res_type", "res_id", "status"),
    Index("ix_sync_conflict_status", "status", "pk"),
)

# Both ends: versions written to resolve a conflict; they travel with a "resolves" flag.
sync_resolution = Table(
    "sync_resolution", metadata,
    Column("resource_pk", PK, primary_key=True),
    Column("version", Integer, primary_key=True),
)

# Hub: the same CCCD (or other identifier) on two Patients — candidates for review, never merged.
sync_duplicate = Table(
    "sync_duplicate", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("patient_a", String(64), nullable=False),
    Column("patient_b", String(64), nullable=False),
    Column("system", String(255), nullable=False),
    Column("value", String(255), nullable=False),
    Column("detected_at", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),                  # open, same, different
    Column("reviewed_by", String(128), nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    UniqueConstraint("patient_a", "patient_b", name="uq_sync_duplicate_pair"),
)


# --- the outbox (0006; benhan/outbox/queue.py, store/outbox_tables.py) --------------------------
# One row per message to another service (BHYT check-in and claim now; VNeID, e-invoices later).
# A worker takes a row by a lease in one transaction; the idempotency key goes to the remote too,
# so a send repeated after a crash is recognised there and never counted twice.
outbox_item = Table(
    "outbox_item", metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),                    # bhyt-checkin, bhyt-claim …
    Column("idem_key", String(200), nullable=False, unique=True),
    Column("subject", String(128), nullable=False),                # what it is about (MA_LK, Encounter id)
    Column("patient", String(255), nullable=True),                 # who, for the clerk's list
    Column("payload", LargeBinary, nullable=False),
    Column("state", String(12), nullable=False),                   # pending, sending, sent, rejected, given-up
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=True),                   # the legal deadline (late-sending log)
    Column("next_attempt", BigInteger, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("sent_at", BigInteger, nullable=True),
    Column("receipt", Text, nullable=True),                        # JSON: the remote's receipt, kept
    Column("last_error", Text, nullable=True),
    Column("late_reason", Text, nullable=True),                    # why it went after due_at (TT 48 Đ8)
    Index("ix_outbox_item_state_next", "state", "next_attempt"),
    Index("ix_outbox_item_subject", "kind", "subject"),
)


# --- Bulk Data $export (0007; store/bulk_export.py, web/bulk_export_api.py) ---------------------
# One row per export a backend client asked for (FHIR Bulk Data Access IG v2). The files are written
# under <data_dir>/exports/<id>/ while the row says how far it got; the row and its files are deleted
# together (the client's DELETE, or the cleanup once `expires` has passed).
bulk_export_job = Table(
    "bulk_export_job", metadata,
    Column("id", String(64), primary_key=True),                    # random, the status URL's last part
    Column("client_id", String(64), nullable=False),               # who may poll and download
    Column("agent", String(128), nullable=False),
    Column("level", String(8), nullable=False),                    # system, patient, group
    Column("group_id", String(64), nullable=True),
    Column("request", Text, nullable=False),                       # the kick-off URL, for the manifest
    Column("params", Text, nullable=False),                        # JSON: types, since, type filters
    Column("state", String(12), nullable=False),                   # queued, running, done, failed
    Column("transaction_time", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=True),
    Column("heartbeat", BigInteger, nullable=True),                # a running export's last sign of life
    Column("finished", BigInteger, nullable=True),
    Column("expires", BigInteger, nullable=True),                  # files deleted after this
    Column("progress", String(200), nullable=True),
    Column("output", Text, nullable=True),                         # JSON: the files written
    Column("error", Text, nullable=True),                          # JSON: what went wrong
    Index("ix_bulk_export_job_client", "client_id", "state"),
    Index("ix_bulk_export_job_state", "state", "expires"),
)


# --- the EMR self-assessment and the provincial dashboard (0008; store/assess_tables.py) --------
# At a facility: the appraisal council's answers to the checklist items the software cannot judge
# (a document reference each, audited). At the hub: each node's latest posted report, and per node
# and day the records received by sync and the readiness of that day's report (the dashboard's
# history), so a page view reads a few small rows, never the resources.
assess_answer = Table(
    "assess_answer", metadata,
    Column("item_id", String(64), primary_key=True),
    Column("met", Boolean, nullable=False),
    Column("ref", Text, nullable=False),                           # "QĐ số 12/QĐ-TTYT ngày …"
    Column("answered_by", String(200), nullable=False),
    Column("answered_at", BigInteger, nullable=False),
)
province_report = Table(
    "province_report", metadata,
    Column("node_name", String(64), primary_key=True),
    Column("received_at", BigInteger, nullable=False),
    Column("generated_at", BigInteger, nullable=False),
    Column("facility", String(255), nullable=False),
    Column("province", String(255), nullable=True),                # the facility's administrative unit
    Column("commune", String(255), nullable=True),
    Column("met", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("backup_ok", Boolean, nullable=True),
    Column("signed_share", Float, nullable=True),
    Column("claims_sent", Integer, nullable=True),
    Column("report", Text, nullable=False),                        # the posted JSON, as received
)
province_daily = Table(
    "province_daily", metadata,
    Column("node_name", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),                   # UTC date, YYYY-MM-DD
    Column("records", BigInteger, nullable=False),                 # versions applied from the node's pushes
    Column("met", Integer, nullable=True),                         # that day's last posted report
    Column("total", Integer, nullable=True),
    Index("ix_province_daily_day", "day"),
)


# --- pharmacy stock (0009; store/stock_ledger.py, pharmacy/) -------------------------------------
# Stores (the main pharmacy store, ward cabinets), lots of a drug in a store, and an append-only
# ledger of every movement. Each movement row carries the lot's balance after it; the rows of one lot
# are written one at a time (the lot row locked FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite),
# so balance = previous balance + quantity holds row by row and the CHECK keeps it from going negative.
stock_store = Table(
    "stock_store", metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),                    # main | ward
)
stock_lot = Table(
    "stock_lot", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("store", String(64), ForeignKey("stock_store.code"), nullable=False),
    Column("item_code", String(64), nullable=False),               # the catalogue's MA_THUOC
    Column("item_name", String(255), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("lot_number", String(64), nullable=False),
    Column("expiry", String(10), nullable=False),                  # YYYY-MM-DD, the last usable day
    Column("controlled", String(16), nullable=True),               # narcotic | psychotropic | precursor
    UniqueConstraint("store", "item_code", "lot_number", "expiry", name="uq_stock_lot"),
    Index("ix_stock_lot_item", "store", "item_code", "expiry"),
)
stock_move = Table(
    "stock_move", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("lot_id", BigInteger, ForeignKey("stock_lot.id"), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),      # receipt, transfer-out, transfer-in, dispense, count
    Column("quantity", BigInteger, nullable=False),  # signed: in > 0, out < 0
    Column("balance", BigInteger, CheckConstraint("balance >= 0", name="ck_stock_move_balance"), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("supplier", String(255), nullable=True),
    Column("invoice", String(64), nullable=True),
    Column("unit_price", BigInteger, nullable=True),               # VND per unit
    Column("other_store", String(64), nullable=True),              # a transfer's other side
    Column("prescription", String(64), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("dispense_id", String(64), nullable=True),
    Index("ix_stock_move_lot", "lot_id", "id"),
    Index("ix_stock_move_at", "at"),
)
stock_reorder = Table(
    "stock_reorder", metadata,
    Column("store", String(64), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("level", BigInteger, nullable=False),
)
