"""Signing a discharge paper (issue 13's goals: render + sign ≤ 1 s on 2 cores, verify ≤ 300 ms),
in-process over a SQLite store with the local CA's OCSP responder on a local port:

- sign: read the record, build the document Bundle, render the PDF, make it PDF/A, check the
  certificate (OCSP over HTTP), PAdES-B-LT signature, JWS over the Bundle, store — end to end,
  with a PKCS#12 key and, when SoftHSM2 is installed, a PKCS#11 token;
- with a TSA (the local RFC 3161 stand-in on a local port): the same with a signature timestamp and a
  document timestamp (PAdES-B-LTA), and its verification;
- verify: the PDF's signature with only what it embeds, and the Bundle's JWS.

    .venv/bin/python bench/bench_signing.py [--runs 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import percentile, print_machine  # noqa: E402


def _times(fn, runs: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def _line(label: str, ms: list[float]) -> None:
    print(f"{label:<44} p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print_machine()
    from benhan import config
    from benhan.documents import signing, verify
    from benhan.signing import keys
    from benhan.signing import timestamps
    from benhan.signing.local_ca import LocalCA, Responder
    from benhan.signing.local_tsa import LocalTSA, TsaServer
    from benhan.signing.trust import TrustList, certificates_in
    from benhan.store.store import Store
    sys.path.insert(0, str(ROOT))
    from tests.signing.test_documents import DOCTOR_CCCD, _world
    with tempfile.TemporaryDirectory() as tmp, Responder() as responder:
        ca = responder.ca = LocalCA(responder.url)
        trust = TrustList()
        for cert in certificates_in(ca.trust_pem()):
            trust.add(cert)
        store = Store.open(config.load(env={}, data_dir=Path(tmp) / "data"))
        try:
            repo, actor, eid = _world(store)
            key = keys.from_pkcs12(ca.issue("Lê Văn Hùng", uid=f"CCCD:{DOCTOR_CCCD}").pkcs12("p"), "p")
            signing.sign_encounter_document(repo, actor, eid, "discharge", key, trust)   # warm-up (imports)
            done: list = []
            _line("render + sign + store, PKCS#12 (goal ≤ 1000)",
                  _times(lambda: done.append(signing.sign_encounter_document(repo, actor, eid, "discharge", key,
                                                                             trust)), args.runs))
            try:
                from tests.signing.token import USER_PIN, init_softhsm, make_token
                module = init_softhsm(Path(tmp) / "hsm")
                make_token(module, "bench", ca, "Lê Văn Hùng", f"CCCD:{DOCTOR_CCCD}")
                with keys.from_token(module, "bench", USER_PIN, "signing") as token_key:
                    _line("render + sign + store, SoftHSM2 token",
                          _times(lambda: signing.sign_encounter_document(repo, actor, eid, "discharge", token_key,
                                                                         trust), args.runs))
            except BaseException as exc:   # noqa: BLE001 - pytest.skip from the helper when SoftHSM2 is absent
                print(f"token: not measured ({type(exc).__name__}: {exc})")
            with TsaServer(LocalTSA(ca)) as tsa_server:
                tsa = timestamps.Tsa(tsa_server.url)
                stamped: list = []
                _line("render + sign + store, PKCS#12 + TSA (B-LTA)",
                      _times(lambda: stamped.append(signing.sign_encounter_document(
                          repo, actor, eid, "discharge", key, trust, tsa=tsa)), args.runs))
            lta = stamped[-1].pdf
            assert stamped[-1].timestamp_note == "", stamped[-1].timestamp_note
            print(f"signed PDF size, B-LTA                       {len(lta) / 1024:.1f} KiB")
            _line("verify PDF, B-LTA (2 timestamps)", _times(lambda: verify.verify_pdf(lta, trust), args.runs))
            pdf = done[-1].pdf
            print(f"signed PDF size                              {len(pdf) / 1024:.1f} KiB")
            _line("verify PDF (goal ≤ 300)", _times(lambda: verify.verify_pdf(pdf, trust), args.runs))
            document = signing.signed_documents(repo, eid)[0]
            bundle = signing.bundle_of(document)
            _line("verify document Bundle (JWS)", _times(lambda: verify.verify_bundle(bundle, trust), args.runs))
        finally:
            store.close()


if __name__ == "__main__":
    main()
