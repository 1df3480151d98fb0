"""Importing NDJSON: benhan's demo data exported and imported into an empty database (each kind)
comes back resource for resource with the same content; a second run changes nothing; bad lines
are reported with their line numbers and do not stop the others; the run is audited."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import and_, func, select

from benhan import config as config_mod
from benhan import errors
from benhan.audit.fhir_view import event_type
from benhan.auth.actor import Actor
from benhan.clinical.load_demo import load_demo
from benhan.fhir.resource_json import content_hash, loads
from benhan.store import full_export, ndjson_import
from benhan.store.ndjson import NdjsonWriter
from benhan.store.repository import Repository
from benhan.store.schema import audit_event, change_log, resource, resource_version
from benhan.store.store import Store
from benhan.store.writer import decode_body


def _current(store: Store):  # noqa: ANN202
    r, v = resource, resource_version
    q = (select(r.c.res_type, r.c.res_id, v.c.encoding, v.c.body)
         .select_from(r.join(v, and_(v.c.resource_pk == r.c.pk, v.c.version == r.c.version)))
         .where(r.c.deleted.is_(False)).order_by(r.c.res_type, r.c.res_id))
    with store.db.read() as conn:
        for row in conn.execute(q):
            yield row.res_type, row.res_id, decode_body(row.encoding, row.body)


def _hashes(store: Store) -> dict[tuple[str, str], bytes]:
    """Each resource's canonical JSON hash without meta.versionId/lastUpdated, computed from its body."""
    return {(t, i): content_hash(loads(body)) for t, i, body in _current(store)}


def _export(store: Store, folder: Path) -> None:
    folder.mkdir()
    writers: dict[str, NdjsonWriter] = {}
    for res_type, _, body in _current(store):
        if res_type not in writers:
            writers[res_type] = NdjsonWriter(folder, res_type, max_lines=40)   # several files for a type
        writers[res_type].write(body)
    for w in writers.values():
        w.close()


def _log_rows(store: Store) -> int:
    with store.db.read() as conn:
        return conn.execute(select(func.count()).select_from(change_log)).scalar_one()


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory) -> tuple[Path, dict]:  # noqa: ANN001
    base = tmp_path_factory.mktemp("demo")
    source = Store.open(config_mod.load(env={}, data_dir=base / "source"))
    try:
        load_demo(source, patients=6, seed=3)
        hashes = _hashes(source)
        _export(source, base / "ndjson")
        full_export.export_all(source, base / "full")          # `benhan export --all`, the export side
    finally:
        source.close()
    return base / "ndjson", hashes


def test_the_demo_exported_and_imported_into_an_empty_database_has_the_same_content(store, demo_export):  # noqa: ANN001
    folder, source_hashes = demo_export
    assert len(list(folder.glob("Observation.*ndjson"))) > 1      # a type split into files is read whole
    repo = Repository(store, Actor.system("test-import"))
    report = ndjson_import.import_files(repo, [folder], batch=50)
    assert report.ok and report.failures == []
    assert report.total("created") == len(source_hashes) and report.unresolved_references == 0
    assert report.by_type["Patient"]["created"] == 6
    assert _hashes(store) == source_hashes

    # Again: the same content, so no new version and no change-log row; every line "unchanged".
    rows = _log_rows(store)
    again = ndjson_import.import_files(repo, [folder])
    assert again.total("unchanged") == len(source_hashes) and again.total("created") == again.total("updated") == 0
    assert _log_rows(store) == rows
    assert {v for (t, _), v in _hashes(store).items()} == set(source_hashes.values())

    # A reference between imported resources resolves: the patient's observations are found by it.
    patient = next(i for t, i in source_hashes if t == "Patient")
    found = repo.search_type("Observation", [("subject", f"Patient/{patient}"), ("_summary", "count")])
    assert found.total and found.total > 0


def test_benhans_full_export_imported_into_an_empty_database_has_the_same_content(store, demo_export):  # noqa: ANN001
    folder, source_hashes = demo_export
    resources = folder.parent / "full" / "resources"
    report = ndjson_import.import_files(Repository(store, Actor.system("test-import")), [resources])
    assert report.ok and report.total("created") == len(source_hashes)
    assert _hashes(store) == source_hashes


def test_bad_lines_are_reported_with_their_line_and_reason_and_the_others_are_imported(store, tmp_path):  # noqa: ANN001
    lines = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "name": [{"family": "Trần", "given": ["Thị Bé"]}]},
        "this is not json",
        {"resourceType": "Patient", "id": "p2", "gender": "bogus"},
        {"resourceType": "Observation", "status": "final", "code": {"text": "no id"}},
        {"resourceType": "Nonsense", "id": "n1"},
        ["not", "a", "resource"],
        {"resourceType": "AuditEvent", "id": "a1", "type": {"code": "rest"}, "recorded": "2026-01-01T00:00:00Z",
         "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}},
        '{"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "Mạch"}, '
        '"subject": {"reference": "Patient/p1"}, "valueQuantity": {"value": 1.50, "unit": "x"}}',
        {"resourceType": "Observation", "id": "o2", "status": "final", "code": {"text": "lost"},
         "subject": {"reference": "Patient/elsewhere"}},
    ]
    path = tmp_path / "mixed.ndjson.gz"
    with gzip.open(path, "wb") as f:
        for item in lines:
            f.write((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)).encode() + b"\n")
        f.write(b"\n")                                            # a trailing blank line is no resource
    repo = Repository(store, Actor.system("test-import"))
    report = ndjson_import.import_files(repo, [path])
    failed = {f.line: f for f in report.failures}
    assert sorted(failed) == [2, 3, 4, 5, 6, 7]
    assert "not JSON" in failed[2].reason
    assert failed[3].res_id == "p2" and "BENHAN-3001" in failed[3].reason and "gender" in failed[3].reason
    assert "no id" in failed[4].reason and "Nonsense" in failed[5].reason
    assert "append-only" in failed[7].reason
    assert report.by_type["Patient"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 1}
    assert report.by_type["Observation"]["created"] == 2 and report.lines == 9
    assert report.unresolved_references == 1 and report.unresolved_examples == ["Patient/elsewhere"]
    # the decimal's text is kept: 1.50, not 1.5
    assert b'"value":1.50' in repo.read("Observation", "o1").body
    data = report.as_json()
    assert data["totals"]["failed"] == 6 and data["failures"][0]["line"] == 2

    # One audit event for the run, with its counts; the writes have theirs, naming the patient.
    with store.db.read() as conn:
        runs = conn.execute(select(audit_event.c.detail, audit_event.c.outcome, audit_event.c.action)
                            .where(audit_event.c.interaction == "import")).all()
        obs = conn.execute(select(audit_event.c.patients).where(and_(
            audit_event.c.res_type == "Observation", audit_event.c.res_id == "o1"))).scalar_one()
    assert len(runs) == 1 and runs[0].outcome == "4" and runs[0].action == "C"
    assert event_type("import")["code"] == "110107"           # AuditEvent.type DICOM Import
    assert json.loads(runs[0].detail)["created"] == 3 and json.loads(runs[0].detail)["failed"] == 6
    assert obs == "p1"


def test_a_patient_whose_cccd_another_has_fails_alone(store, tmp_path):  # noqa: ANN001
    from benhan.vn.identifiers import CCCD_SYSTEM as cccd
    path = tmp_path / "p.ndjson"
    rows = [{"resourceType": "Patient", "id": f"q{n}", "identifier": [{"system": cccd, "value": "001085012345"}]}
            for n in (1, 2)] + [{"resourceType": "Patient", "id": "q3"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = ndjson_import.import_files(Repository(store, Actor.system("t")), [path])
    assert report.by_type["Patient"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 1}
    assert [f.line for f in report.failures] == [2]


def test_a_missing_path_is_one_error(tmp_path):  # noqa: ANN001
    with pytest.raises(errors.ImportUnreadable):
        ndjson_import.ndjson_files([tmp_path / "nowhere"])
    with pytest.raises(errors.ImportUnreadable):
        ndjson_import.ndjson_files([tmp_path])           # a folder with no NDJSON


def test_the_command_imports_a_folder_and_a_second_run_changes_nothing(tmp_path):  # noqa: ANN001
    import subprocess
    import sys
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text(
        '{"resourceType":"Patient","id":"cli-1","name":[{"text":"Hoàng Văn Nam"}]}\n', encoding="utf-8")
    report = tmp_path / "report.json"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "benhan.cli", "import", *args, "--data-dir", str(tmp_path / "d")],
                              capture_output=True, text=True, timeout=120)
    first = run(str(folder), "--report", str(report))          # `benhan import DIR` is `benhan import ndjson DIR`
    assert first.returncode == 0, first.stderr
    assert json.loads(report.read_text(encoding="utf-8"))["byType"]["Patient"]["created"] == 1
    second = run("ndjson", str(folder / "Patient.ndjson"), "--report", str(report))
    assert second.returncode == 0 and json.loads(report.read_text(encoding="utf-8"))["totals"]["unchanged"] == 1
    missing = run(str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.strip().startswith("benhan: BENHAN-8501")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_line_too_long_fails_alone_and_later_line_numbers_stay_right(store, tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(ndjson_import, "MAX_LINE", 300)       # 64 MB in real use
    long_name = "Nguyễn " * 100
    path = tmp_path / "long.ndjson"
    path.write_text('{"resourceType":"Patient","id":"l1"}\n'
                    f'{{"resourceType":"Patient","id":"l2","name":[{{"text":"{long_name}"}}]}}\n'
                    '{"resourceType":"Patient","id":"l3","gender":"bogus"}\n', encoding="utf-8")
    report = ndjson_import.import_files(Repository(store, Actor.system("t")), [path])
    assert [(f.line, "longer than" in f.reason) for f in report.failures] == [(2, True), (3, False)]
    assert report.by_type["Patient"]["created"] == 1


def test_absolute_references_to_the_old_server_become_relative_and_resolve(store, tmp_path):  # noqa: ANN001
    path = tmp_path / "old.ndjson"
    path.write_text('{"resourceType":"Patient","id":"r1"}\n'
                    '{"resourceType":"Observation","id":"r-o1","status":"final","code":{"text":"Mạch"},'
                    '"subject":{"reference":"http://old.example/fhir/Patient/r1"},'
                    '"performer":[{"reference":"http://elsewhere.example/fhir/Practitioner/x"}]}\n', encoding="utf-8")
    repo = Repository(store, Actor.system("t"))
    report = ndjson_import.import_files(repo, [path], bases=("http://old.example/fhir/",))
    assert report.ok and report.unresolved_references == 0
    stored = repo.read("Observation", "r-o1").json()
    assert stored["subject"] == {"reference": "Patient/r1"}
    assert stored["performer"] == [{"reference": "http://elsewhere.example/fhir/Practitioner/x"}]   # not that server
