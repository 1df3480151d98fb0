"""`benhan sign` and `benhan verify` as an operator types them: a PKCS#12 seal or certificate signs a
discharge paper; verify says who and when and exits 0; a changed byte exits 1 saying so; a revoked
certificate is one line naming the refusal."""
from __future__ import annotations

import os
import subprocess
import uuid

from benhan import config
from benhan.store.store import Store
from tests.server_process import benhan_command
from tests.signing.test_documents import DOCTOR_CCCD, _world


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BENHAN_")}
    return subprocess.run(benhan_command(*args), capture_output=True, text=True, timeout=120, env={**clean, **env})


def test_sign_and_verify_from_the_command_line(tmp_path, ca):  # noqa: ANN001
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        _, actor, eid = _world(store)
    finally:
        store.close()
    (data / "trust").mkdir()
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    p12 = tmp_path / "bacsi.p12"
    p12.write_bytes(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("mật khẩu tệp"))
    out = tmp_path / "giay-ra-vien.pdf"
    done = _run("sign", eid, "--form", "discharge", "--user", actor.name, "--pkcs12", str(p12), "--out", str(out),
                "--data-dir", str(data), BENHAN_PKCS12_PASSWORD="mật khẩu tệp")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("signed: DocumentReference/") and "PAdES-B-LT" in done.stdout

    checked = _run("verify", str(out), "--data-dir", str(data))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("HỢP LỆ | VALID: ký bởi | signed by Lê Văn Hùng")

    tampered = bytearray(out.read_bytes())
    at = tampered.index(b"/Producer")
    tampered[at + 12] = ord("X") if tampered[at + 12] != ord("X") else ord("Y")
    (tmp_path / "sua.pdf").write_bytes(bytes(tampered))
    checked = _run("verify", str(tmp_path / "sua.pdf"), "--data-dir", str(data))
    assert checked.returncode == 1 and "ĐÃ THAY ĐỔI" in checked.stdout

    revoked = ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}")
    ca.revoke(revoked.cert)
    (tmp_path / "revoked.p12").write_bytes(revoked.pkcs12("x" * 10))
    refused = _run("sign", eid, "--user", actor.name, "--pkcs12", str(tmp_path / "revoked.p12"),
                   "--data-dir", str(data), BENHAN_PKCS12_PASSWORD="x" * 10)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("benhan: BENHAN-7002: ") and "thu hồi" in refused.stderr

    missing = _run("verify", str(tmp_path / f"{uuid.uuid4().hex}.pdf"), "--data-dir", str(data))
    assert missing.returncode == 1 and missing.stderr.startswith("benhan: BENHAN-7004")


def test_the_director_seals_an_author_signed_paper_from_the_command_line(tmp_path, ca):  # noqa: ANN001
    from benhan.auth import users
    from tests.signing.test_documents import PASSWORD
    from tests.signing.test_paper import FACILITY, SEAL_PASSWORD
    data = tmp_path / "data"
    store = Store.open(config.load(env={}, data_dir=data))
    try:
        _, actor, eid = _world(store)
        users.create_user(store, "giamdoc.cli", "Đỗ Văn Minh", ["director"], password=PASSWORD)
    finally:
        store.close()
    (data / "trust").mkdir()
    (data / "trust" / "ca.pem").write_bytes(ca.trust_pem())
    p12 = tmp_path / "bacsi.p12"
    p12.write_bytes(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("mật khẩu tệp"))
    signed = _run("sign", eid, "--form", "discharge", "--user", actor.name, "--pkcs12", str(p12),
                  "--data-dir", str(data), BENHAN_PKCS12_PASSWORD="mật khẩu tệp")
    assert signed.returncode == 0, signed.stderr
    document = signed.stdout.split("DocumentReference/")[1].split(",")[0]

    unset = _run("seal", document, "--user", "giamdoc.cli", "--data-dir", str(data))
    assert unset.returncode == 1 and unset.stderr.startswith("benhan: BENHAN-7008")     # no seal configured yet
    seal_file = tmp_path / "con-dau.p12"
    seal_file.write_bytes(ca.issue(FACILITY, organization=FACILITY).pkcs12(SEAL_PASSWORD))
    env = {"BENHAN_FACILITY_SEAL_FILE": str(seal_file), "BENHAN_SEAL_PASSWORD": SEAL_PASSWORD}
    doctor = _run("seal", document, "--user", actor.name, "--data-dir", str(data), **env)
    assert doctor.returncode == 1 and len(doctor.stderr.strip().splitlines()) == 1      # a doctor does not seal
    out = tmp_path / "dong-dau.pdf"
    sealed = _run("seal", document, "--user", "giamdoc.cli", "--out", str(out), "--data-dir", str(data), **env)
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.startswith("sealed: DocumentReference/")
    checked = _run("verify", str(out), "--data-dir", str(data))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Lê Văn Hùng" in checked.stdout and FACILITY in checked.stdout
    again = _run("seal", document, "--user", "giamdoc.cli", "--data-dir", str(data), **env)
    assert again.returncode == 1 and "already has it" in again.stderr


def test_the_sign_help_names_every_signable_form():
    from benhan.cli_documents import FORMS
    from benhan.documents.composition import DOCUMENT_TYPES
    assert [f.split(":")[0] for f in FORMS.split(", ")] == list(DOCUMENT_TYPES)
