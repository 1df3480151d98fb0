"""NDJSON as Windows tools write it: a UTF-8 byte order mark before the first resource (Notepad,
Excel's "CSV UTF-8", PowerShell's Out-File) is not part of the resource, plain or gzip."""
from __future__ import annotations

import gzip
import json

import pytest

from benhan.auth.actor import Actor
from benhan.store import ndjson_import
from benhan.store.repository import Repository

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_a_byte_order_mark_before_the_first_line_does_not_lose_that_patient(store, tmp_path, packed):  # noqa: ANN001
    rows = [{"resourceType": "Patient", "id": "bom-1", "name": [{"family": "Nguyễn", "given": ["Thị Ánh"]}]},
            {"resourceType": "Patient", "id": "bom-2", "name": [{"family": "Đặng"}]}]
    data = BOM + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    path = tmp_path / ("p.ndjson.gz" if packed else "p.ndjson")
    path.write_bytes(gzip.compress(data) if packed else data)
    repo = Repository(store, Actor.system("t"))
    report = ndjson_import.import_files(repo, [path])
    assert report.failures == [] and report.by_type["Patient"]["created"] == 2
    assert repo.read("Patient", "bom-1").json()["name"][0]["family"] == "Nguyễn"


def test_a_byte_order_mark_inside_the_file_is_still_a_bad_line(store, tmp_path):  # noqa: ANN001
    path = tmp_path / "p.ndjson"
    path.write_bytes(b'{"resourceType":"Patient","id":"ok-1"}\n' + BOM + b'{"resourceType":"Patient","id":"ok-2"}\n')
    report = ndjson_import.import_files(Repository(store, Actor.system("t")), [path])
    assert [f.line for f in report.failures] == [2] and report.by_type["Patient"]["created"] == 1
