"""The NDJSON writer and reader (store.ndjson): one resource a line, a type split into several files
at the limits, counts and SHA-256 that match the bytes on disk, decimals kept as written."""
from __future__ import annotations

import hashlib

import pytest

from benhan.fhir.resource_json import dumps
from benhan.store import ndjson


def _obs(i: int) -> dict:
    return {"resourceType": "Observation", "id": f"o{i}", "status": "final",
            "code": {"text": f"đo lần {i}\nxuống dòng"}, "valueQuantity": {"value": ndjson.loads(b"0.40")}}


def test_a_type_splits_into_files_whose_counts_and_hashes_match_the_disk(tmp_path):
    with ndjson.NdjsonWriter(tmp_path, "Observation", max_lines=3) as w:
        for i in range(7):
            w.write(_obs(i))
    files = w.files
    assert [f.name for f in files] == ["Observation.ndjson", "Observation.2.ndjson", "Observation.3.ndjson"]
    assert [f.count for f in files] == [3, 3, 1]
    for f in files:
        data = f.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256 == ndjson.sha256_of(f.path)
        assert len(data) == f.size and data.count(b"\n") == f.count and data.endswith(b"\n")
        assert f.path.stat().st_mode & 0o077 == 0
    back = [r for f in files for r in ndjson.read(f.path)]
    assert [r["id"] for r in back] == [f"o{i}" for i in range(7)]
    # The text's newline stays inside its line; the decimal keeps its trailing zero.
    assert back[0]["code"]["text"] == "đo lần 0\nxuống dòng"
    assert b'"value":0.40' in files[0].path.read_bytes()


def test_stored_bytes_are_written_as_they_are_and_a_multiline_body_on_one_line(tmp_path):
    compact = dumps({"resourceType": "Patient", "id": "p1"})
    pretty = b'{\n  "resourceType": "Patient",\n  "id": "p2"\n}'
    w = ndjson.NdjsonWriter(tmp_path, "Patient", max_bytes=10_000)
    w.write(compact)
    w.write(pretty)
    (f,) = w.close()
    lines = f.path.read_bytes().split(b"\n")
    assert lines[0] == compact and lines[2] == b""
    assert ndjson.loads(lines[1]) == {"resourceType": "Patient", "id": "p2"}


def test_a_byte_limit_starts_a_new_file_and_nothing_written_makes_no_file(tmp_path):
    line = len(ndjson.as_line(_obs(0)))
    w = ndjson.NdjsonWriter(tmp_path, "Observation", max_bytes=line * 2)
    w.write_all(_obs(i) for i in range(5))
    assert [f.count for f in w.close()] == [2, 2, 1]
    assert ndjson.NdjsonWriter(tmp_path, "Encounter").close() == []


def test_abort_removes_what_was_written_and_a_bad_line_names_its_number(tmp_path):
    w = ndjson.NdjsonWriter(tmp_path, "Observation", max_lines=1)
    w.write_all(_obs(i) for i in range(3))
    w.abort()
    assert list(tmp_path.iterdir()) == []
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b'{"resourceType":"Patient","id":"a"}\n\n{not json\n')
    with pytest.raises(ValueError, match="line 3"):
        list(ndjson.read(bad))
    with pytest.raises(ValueError):
        ndjson.NdjsonWriter(tmp_path, "../etc")
