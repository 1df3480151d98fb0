"""The clinician pages' budgets (issue 6), measured in-process over a SQLite store:

- first chart view: bytes of the visit page's HTML plus everything it loads (CSS, JS; no fonts,
  no images), uncompressed — budget 200 KB; the chart page's HTML alone — budget 60 KB;
- server render time of the visit page (and the patient page) for a patient with 200 resources
  on one inpatient stay (the heaviest page: 30 rounds of vital signs, daily notes, orders,
  results, prescriptions), p50/p95 over repeated GETs — budget p95 ≤ 100 ms;
- page loads from the desk to an open visit by CCCD QR scan — budget 3.

    .venv/bin/python bench/bench_ui.py [--runs 60]

It prints the machine and the figures (docs/benchmarks-history.md "Clinician pages").
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("BENHAN_SRC") or str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import print_machine  # noqa: E402

from benhan.auth import users  # noqa: E402
from benhan.auth.actor import Actor  # noqa: E402
from benhan.clinical import diagnoses, notes, orders, prescriptions, record, visits, vitals  # noqa: E402
from benhan.clinical.demo import facility_bundle  # noqa: E402
from benhan.clinical.demo_catalogue import load_demo_catalogue  # noqa: E402
from benhan.config import load as load_config  # noqa: E402
from benhan.store.bundles import process_bundle  # noqa: E402
from benhan.store.repository import Repository  # noqa: E402
from benhan.store.store import Store  # noqa: E402
from benhan.terminology.load import load as load_terminology  # noqa: E402

PASSWORD = "một câu mật khẩu thật dài"
QR = "001090123456||NGUYỄN VĂN AN|01011990|Nam|Số 5, ngõ 12, Phường Ba Đình, Thành phố Hà Nội|15042021"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def build(store: Store) -> tuple[str, str, int]:
    """A patient with ~200 resources on one inpatient stay; (patient id, encounter id, resources)."""
    actor = Actor(name="bench", display="Bác sĩ Bench")
    repo = Repository(store, actor)
    fac = visits.facility(repo)
    room = visits.locations(repo)[0][0]
    from benhan.clinical import registration
    from datetime import date
    form = registration.PatientForm.from_mapping({"cccd": "001090123499", "name": "Trần Văn Bench", "gender": "male",
                                                  "birth_date": "01/02/1990", "bhyt": "HT4790123456789",
                                                  "bhyt_to": "31/12/2030", "province": "01"})
    pid = registration.register(repo, form, actor, date.today(), fac.organization_id).patient_id
    eid = visits.open_visit(repo, actor, pid, "noi-tru", room, "Sốt, khó thở", fac)
    count = 3
    for day in range(30):
        ids = vitals.record(repo, actor, pid, eid, {"pulse": str(80 + day % 9), "temperature": f"{37 + day % 3 * 0.4:.1f}",
                                                    "systolic": "125", "diastolic": "80", "respiratory_rate": "20",
                                                    "spo2": "96"}, f"2026-10-{day % 28 + 1:02d}T08:{day:02d}:00+07:00")
        count += len(ids)
        notes.add(repo, actor, repo.read("Encounter", eid).json(), "progress", f"Ngày {day + 1}: bệnh ổn định dần, "
                  "còn ho ít, ăn uống được.", "Tiếp tục kháng sinh, theo dõi mạch, nhiệt độ, huyết áp.")
        count += 1
    record.save(repo, actor, pid, eid, {"s_ly_do_vao_vien": "Sốt cao, khó thở", "s_ho_hap": "Ran nổ đáy phổi phải"}, None)
    diagnoses.add(repo, actor, repo.read("Encounter", eid).json(), "J18.9", "main", "AD")
    count += 2
    for panel in ("cbc", "crp", "renal", "liver"):
        oid = orders.place(repo, actor, repo.read("Encounter", eid).json(), "lab", {"order_lab": f"panel:{panel}"})
        order = repo.read("ServiceRequest", oid).json()
        values = {orders.result_field(t.loinc): "5" for t in orders.tests_of(order)}
        orders.enter_results(repo, actor, order, False, values)
        count += 2 + len(values)
    drugs = prescriptions.catalogue(repo)
    for d in drugs[:3]:
        enc = repo.read("Encounter", eid).json()
        prescriptions.prescribe(repo, actor, enc, {"rx_drug": d.medication_id, "rx_dose": "1", "rx_route": "Uống",
                                                   "rx_per_day": "2", "rx_days": "5", "confirm_warnings": "yes"}, [], [])
        count += 1
    return pid, eid, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    print_machine()
    from starlette.testclient import TestClient

    from benhan.web.app import create_app
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(load_config(env={}, data_dir=Path(tmp) / "data"))
        load_terminology(store, ["icd10-tt06"])
        process_bundle(Repository(store, Actor.system()), facility_bundle(), "http://localhost/fhir")
        load_demo_catalogue(store)
        pid, eid, n = build(store)
        users.create_user(store, "bacsi", "Bác sĩ", ["doctor"], password=PASSWORD)
        with TestClient(create_app(store.config, store)) as c:
            c.post("/login", data={"username": "bacsi", "password": PASSWORD, "csrf": _csrf(c.get("/login").text)},
                   cookies={"benhan_login": c.cookies.get("benhan_login", "")})
            if c.get("/", follow_redirects=False).status_code != 200:
                raise SystemExit("login failed")
            html = c.get(f"/ui/encounters/{eid}").text
            if os.environ.get("BENCH_UI_DUMP"):
                Path(os.environ["BENCH_UI_DUMP"]).write_text(html)
            assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
            asset_bytes = {a: len(c.get(a).content) for a in sorted(set(assets))}
            total = len(html.encode()) + sum(asset_bytes.values())
            print(f"patient with {n} resources on one inpatient stay")
            print(f"visit page HTML: {len(html.encode()) / 1024:.1f} KB (budget 60 KB); assets: "
                  + ", ".join(f"{a} {b / 1024:.1f} KB" for a, b in asset_bytes.items()))
            print(f"first chart view total: {total / 1024:.1f} KB uncompressed (budget 200 KB)")
            for label, path in (("visit page", f"/ui/encounters/{eid}"), ("patient page", f"/ui/patients/{pid}")):
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    assert c.get(path).status_code == 200
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"{label} render: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms over {args.runs} "
                      f"GETs (budget p95 100 ms)")
            # Desk → open visit by QR scan: count the HTML pages the browser loads.
            loads = 0
            home = c.get("/")
            loads += 1
            scanned = c.post("/ui/register/scan", data={"csrf": _csrf(home.text),
                                                         "qr": QR.replace("001090123456", "001090654321")})
            loads += 1
            room = re.search(r'<option value="([0-9a-f-]{36})"', scanned.text.split('name="location"')[1]).group(1)
            fields = dict(re.findall(r'<input id="f-\w+" name="(\w+)" type="\w+" value="([^"]*)"', scanned.text))
            fields.update(csrf=_csrf(home.text), gender="male", ethnicity="01", province="01", commune="00004",
                          visit_type="kham-benh", location=room, action="save")
            saved = c.post("/ui/register/patient", data=fields)
            loads += 1
            assert "/ui/encounters/" in str(saved.url), saved.text[:300]
            print(f"QR scan to open visit: {loads} page loads (budget 3)")
        store.close()


if __name__ == "__main__":
    main()
