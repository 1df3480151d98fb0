"""`benhan export --all DIR` (leaving benhan, CV 365 III.1.1k) run as the IT person would, a real
process on each database: every current resource once per type, every version with --versions,
the audit trail (FHIR and its hash-chained rows), the code lists, a manifest whose counts and
SHA-256 match the files, a data dictionary; a folder that cannot be used is one line and exit 1.
And docs/data-dictionary.md is what `benhan export data-dictionary` generates."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from benhan.auth.actor import Actor
from benhan.store import full_export
from benhan.store.data_dictionary import render
from benhan.store.repository import Repository
from benhan.store.schema import audit_event, resource_version
from tests import factories
from tests.server_process import run_benhan

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"


def _args(store) -> list[str]:  # noqa: ANN001
    cfg = store.config
    args = ["--data-dir", str(cfg.data_dir)]
    if not cfg.sqlalchemy_url.startswith("sqlite"):
        args += ["--database-url", cfg.sqlalchemy_url]
    return args


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture
def filled(store):  # noqa: ANN001, ANN201
    repo = Repository(store, Actor.system("test"))
    patient = repo.create("Patient", factories.patient("Vũ", ("Thị", "Lan")))
    repo.update("Patient", patient.res_id, {**factories.patient("Vũ", ("Thị", "Lan Anh")), "id": patient.res_id})
    obs = [repo.create("Observation", factories.observation(f"Patient/{patient.res_id}", value=60 + i)).res_id
           for i in range(4)]
    repo.delete("Observation", obs[0])
    repo.create("CodeSystem", {"resourceType": "CodeSystem", "url": "https://benhan.vn/cs/test", "status": "active",
                               "content": "complete", "concept": [{"code": "A", "display": "Ấ"}]})
    return {"patient": patient.res_id, "observations": obs}


def test_everything_is_exported_with_a_manifest_that_matches_the_files(store, filled, tmp_path):
    target = tmp_path / "ra-di"
    done = run_benhan("export", "--all", str(target), "--versions", *_args(store), timeout=300)
    assert done.returncode == 0, done.stderr
    manifest = orjson.loads((target / "manifest.json").read_bytes())
    assert manifest["resources"] == {"CodeSystem": 1, "Observation": 3, "Patient": 1}
    for entry in manifest["files"]:
        data = (target / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        if entry["path"].endswith(".ndjson"):
            assert data.count(b"\n") == entry["count"]
    patients = _lines(target / "resources" / "Patient.ndjson")
    assert [(p["id"], p["meta"]["versionId"], p["name"][0]["given"]) for p in patients] == [
        (filled["patient"], "2", ["Thị", "Lan Anh"])]
    assert {o["id"] for o in _lines(target / "resources" / "Observation.ndjson")} == set(filled["observations"][1:])
    # Every version: the patient's two, each observation's one (the deleted one's content too), and
    # the deletion itself in deletions.csv.
    history = _lines(target / "history" / "Patient.history.ndjson")
    assert [h["meta"]["versionId"] for h in history] == ["1", "2"]
    assert len(_lines(target / "history" / "Observation.history.ndjson")) == 4
    deletions = (target / "history" / "deletions.csv").read_text(encoding="utf-8").splitlines()
    assert deletions[1].startswith(f"Observation,{filled['observations'][0]},2,")
    with store.db.read() as conn:
        assert manifest["versions"] == conn.execute(select(func.count()).select_from(resource_version)).scalar()
        trail = conn.execute(select(func.count()).select_from(audit_event)).scalar()
    # The audit trail, the export's own event included, as FHIR and as the chained rows.
    events = _lines(target / "audit" / "AuditEvent.ndjson")
    rows = _lines(target / "audit" / "audit_event.ndjson")
    assert len(events) == len(rows) == manifest["auditEvents"] == trail
    assert all(e["resourceType"] == "AuditEvent" for e in events)
    assert rows[-1]["subtype"] == "full-export" and rows[-1]["interaction"] == "export"
    assert all(r["hash"] for r in rows[:-1])
    # Code lists: the stored ones and the packaged reference files.
    assert [c["url"] for c in _lines(target / "code-lists" / "CodeSystem.ndjson")] == ["https://benhan.vn/cs/test"]
    assert (target / "code-lists" / "packaged" / "terminology" / "icd10-vn-tt06-2026.csv.gz").is_file()
    dictionary = (target / "data-dictionary.md").read_text(encoding="utf-8")
    assert "| Observation | 3 |" in dictionary and "### `resource_version`" in dictionary
    assert os.stat(target / "resources" / "Patient.ndjson").st_mode & 0o077 == 0


def test_a_folder_that_is_not_empty_or_not_writable_is_one_line_and_exit_1(store, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.txt").write_text("x")
    done = run_benhan("export", "--all", str(busy), *_args(store))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("benhan: BENHAN-8805: ")
    assert sorted(p.name for p in busy.iterdir()) == ["old.txt"]
    if os.geteuid() != 0:      # root writes anywhere: the check of an unwritable folder needs a user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        done = run_benhan("export", "--all", str(locked / "x"), *_args(store))
        assert done.returncode == 1 and "BENHAN-8805" in done.stderr
    with pytest.raises(Exception, match="not a folder"):
        full_export.check_target(busy / "old.txt")


def test_the_data_dictionary_in_docs_is_the_generated_one():
    assert (DOCS / "data-dictionary.md").read_text(encoding="utf-8") == render()
