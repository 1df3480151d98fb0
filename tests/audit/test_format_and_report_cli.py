"""The chain format as docs/audit.md states it, recomputed without benhan's code; and the patient
report on the command line."""
from __future__ import annotations

import hashlib
import subprocess
import sys

from tests.audit.helpers import a_working_day, sql

FIELDS = ["chain_pos", "recorded", "action", "interaction", "outcome", "agent", "source_address", "res_type",
          "res_id", "version", "query", "subtype", "role", "client_id", "purpose", "patients", "detail"]


def field(value) -> bytes:  # noqa: ANN001
    if value is None:
        return b"\xff\xff\xff\xff"
    data = str(value).encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def test_an_independent_verifier_written_from_the_docs_agrees_with_the_chain(store):
    a_working_day(store)
    rows = sql(store, f"SELECT {', '.join(FIELDS)}, hash FROM audit_event ORDER BY chain_pos")
    prev = "0" * 64
    for row in rows:
        message = b"benhan-audit-1" + prev.encode("ascii") + b"".join(field(getattr(row, f)) for f in FIELDS)
        assert hashlib.sha256(message).hexdigest() == row.hash
        prev = row.hash
    assert sql(store, "SELECT chain_pos, hash FROM audit_chain_head")[0] == (len(rows), prev)


def test_the_report_command_lists_who_looked_at_the_patient(store):
    ids = a_working_day(store)
    where = (["--data-dir", str(store.config.data_dir)] if store.db.is_sqlite
             else ["--database-url", store.config.sqlalchemy_url])
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "audit", "report", ids["patient"], *where],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("when (UTC)")
    assert lines[-1] == f"{len(lines) - 2} events for Patient/{ids['patient']}"
    body = "\n".join(lines[1:-1])
    assert "dd.hoa" in body and "bs.lan" in body and "10.0.0.6" in body
    assert f"Patient/{ids['patient']}/_history/1" in body
