"""`benhan paper import` as an operator types it: a scanned PDF onto a patient's record, sealed with the
facility's seal (password from BENHAN_SEAL_PASSWORD); `benhan verify` accepts the result; a missing
seal configuration and a file that is not a document are one line with their code, exit 1."""
from __future__ import annotations

from benhan import config
from benhan.store.store import Store
from tests.signing.test_cli import _run
from tests.signing.test_documents import _world
from tests.signing.test_paper import FACILITY, SEAL_PASSWORD, _patient, two_page_pdf


def test_paper_import_from_the_command_line(tmp_path, ca):  # noqa: ANN001
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        repo, actor, eid = _world(store)
        pid = _patient(repo, eid)
    finally:
        store.close()
    scan = tmp_path / "benh-an-2015.pdf"
    scan.write_bytes(two_page_pdf())
    args = ("paper", "import", pid, str(scan), "--type", "inpatient", "--date", "20/01/2015", "--user", actor.name,
            "--data-dir", str(data))

    unconfigured = _run(*args, BENHAN_SEAL_PASSWORD=SEAL_PASSWORD)
    assert unconfigured.returncode == 1 and unconfigured.stderr.startswith("benhan: BENHAN-7008: ")
    assert "facility_seal_file" in unconfigured.stderr and len(unconfigured.stderr.strip().splitlines()) == 1

    (data / "trust").mkdir()
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
    text = tmp_path / "ghi-chu.pdf"
    text.write_text("không phải bản quét", encoding="utf-8")
    not_a_scan = _run("paper", "import", pid, str(text), "--type", "other", "--date", "2015-01-20", "--user",
                      actor.name, "--data-dir", str(data), BENHAN_FACILITY_SEAL_FILE=str(p12),
                      BENHAN_SEAL_PASSWORD=SEAL_PASSWORD)
    assert not_a_scan.returncode == 1 and not_a_scan.stderr.startswith("benhan: BENHAN-7007: ")

    out = tmp_path / "sealed.pdf"
    done = _run(*args, "--out", str(out), BENHAN_FACILITY_SEAL_FILE=str(p12), BENHAN_SEAL_PASSWORD=SEAL_PASSWORD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("converted: DocumentReference/") and "PAdES-B-LT" in done.stdout
    checked = _run("verify", str(out), "--data-dir", str(data))
    assert checked.returncode == 0 and "HỢP LỆ" in checked.stdout and FACILITY in checked.stdout
