"""BHYT claims for many episodes: the tables built from an episode and its charge lines, validated
(every field rule, ICD-10, dates, line arithmetic, XML1 sums), and the GIAMDINHHS envelope signed
with the facility's key. The goal (issue 15): 1,000 episodes in ≤ 30 s on 2 cores.

The episodes are generated here (a seeded mix of outpatient visits, inpatient stays with a surgery
and a referral, emergencies): the money of each line follows the arithmetic of vietnam-billing.md
§1.7, so every episode passes validation — the benchmark measures the full set of checks, and
fails if any episode does not pass. Reading the record from the database (claims/record.py) is not
included: it is the charge computation's cost, measured with the billing layer.

Usage: .venv/bin/python bench/bench_claims.py [--episodes 1000] [--no-sign]
"""
from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import print_machine  # noqa: E402
from benhan.billing.lines import ChargeLine  # noqa: E402
from benhan.claims import envelope, tables, validation  # noqa: E402
from benhan.claims.episode import Episode, Progress, Referral, Result  # noqa: E402

VN = timezone(timedelta(hours=7))
CENT = Decimal("0.01")
ICD = ["I10", "E11.9", "J06.9", "K29.7", "J18.9", "K35.8", "S52.5", "M54.5", "N39.0", "A09"]
CARDS = [("DN4790123456789", Decimal(80)), ("HT3790123456780", Decimal(95)), ("TE1010987654321", Decimal(100))]
DRUGS = [("40.17", "Amlodipin 5mg", "viên", Decimal("1234.567")), ("40.226", "Ceftriaxon 1g", "lọ", Decimal("5432.1")),
         ("40.55", "Amoxicilin 500mg", "viên", Decimal("2105.5"))]
SERVICES = [("18.0070.0028", "Chụp X-quang", Decimal(65400), "2"), ("22.0120.1370", "Tổng phân tích tế bào máu",
            Decimal(46200), "1"), ("10.0527.0480", "Phẫu thuật nội soi", Decimal(2450000), "8")]


def _line(eid: str, kind: str, code: str, name: str, unit: str, qty: Decimal, price: Decimal, rate: Decimal,
          when: datetime, group: str, service_rate: Decimal = Decimal(100)) -> ChargeLine:
    amount = (qty * price * service_rate / 100).quantize(CENT, ROUND_HALF_UP)
    fund = (amount * rate / 100).quantize(CENT, ROUND_HALF_UP)
    return ChargeLine(eid, kind, code, name, unit, qty, price, amount, amount, fund, amount - fund, Decimal("0.00"),
                      service_time=when, benefit_rate=rate, service_rate=service_rate, cost_group=group,
                      department="K01", practitioner="000123/HNO-CCHN")


def episode(i: int, rng: random.Random) -> tuple[Episode, list[ChargeLine]]:
    eid = f"01013-{i:08d}"
    start = datetime(2026, 11, 1, 7, 0, tzinfo=VN) + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))
    card, rate = rng.choice(CARDS)
    kind = rng.choices(["out", "in", "emergency"], [7, 2, 1])[0]
    end = start + (timedelta(days=rng.randint(2, 8)) if kind == "in" else timedelta(hours=2))
    ep = Episode(ma_lk=eid, patient_code=f"BN{i:06d}", name="Nguyễn Văn An", birth=date(1960 + i % 50, 1 + i % 12, 1),
                 sex=1 + i % 2, card=card, card_place="01013", card_from=date(2026, 1, 1), card_to=date(2026, 12, 31),
                 facility="01013", object_code="2" if kind == "emergency" else "1.1",
                 visit_type="03" if kind == "in" else "01", admitted=start, discharged=end,
                 admitted_inpatient=start if kind == "in" else None, diagnosis_out="Chẩn đoán", main_icd=rng.choice(ICD),
                 other_icd=tuple(rng.sample(ICD, 2)), departments=("K01",), treatment="Điều trị nội khoa",
                 doctor="000123/HNO-CCHN", history_summary="Diễn biến", discharge_paper=kind == "in",
                 progress=[Progress("Tỉnh, tiếp xúc tốt", start + timedelta(minutes=30))],
                 results=[Result("22.0120.1370", "0001234", "Bạch cầu", "8.2", "G/L", time=start + timedelta(minutes=50))])
    if kind == "in" and rng.random() < 0.3:
        ep.referral = Referral(f"CT-{i}", "01001", "Sốt", "1", "Tuyến trên", "Xe cứu thương")
        ep.to_facility = "01001"
    lines = [_line(eid, "exam", "02.1896", "Khám Nội", "lần", Decimal(1), Decimal(50600), rate,
                   start + timedelta(minutes=5), "13")]
    if kind == "in":
        lines.append(_line(eid, "bed", "K20.1950", "Giường", "ngày", Decimal((end - start).days), Decimal(321000), rate,
                           start + timedelta(minutes=20), "15"))
    for _ in range(rng.randint(2, 12)):
        code, name, price, group = rng.choice(SERVICES)
        lines.append(_line(eid, "service", code, name, "lần", Decimal(1), price, rate,
                           start + timedelta(minutes=rng.randint(10, 100)), group))
    for _ in range(rng.randint(1, 10)):
        code, name, unit, price = rng.choice(DRUGS)
        lines.append(_line(eid, "drug", code, name, unit, Decimal(rng.randint(1, 30)), price, rate,
                           start + timedelta(minutes=rng.randint(10, 100)), "4"))
    return ep, lines


def main(argv: list[str]) -> None:
    n = int(argv[argv.index("--episodes") + 1]) if "--episodes" in argv else 1000
    sign = "--no-sign" not in argv
    key = None
    if sign:
        from benhan.signing import xmldsig
        from benhan.signing.local_ca import LocalCA
        issued = LocalCA("http://127.0.0.1:9").issue("Bệnh viện thử", organization="Bệnh viện thử")
        key = xmldsig.key_from_pkcs12(issued.pkcs12("x"), "x")
    print_machine()
    validation.icd_codes(date(2026, 11, 1))         # the ICD-10 list is loaded once per process
    rng = random.Random(15)
    made = datetime(2026, 11, 30, 12, 0, tzinfo=VN)
    t_build = t_validate = t_sign = 0.0
    lines_total = 0
    failed = 0
    start = time.perf_counter()
    for i in range(n):
        ep, lines = episode(i, rng)
        lines_total += len(lines)
        t0 = time.perf_counter()
        content = tables.claim_tables(ep, lines)
        t1 = time.perf_counter()
        report = validation.validate(content)
        t2 = time.perf_counter()
        if not report.ok:
            failed += 1
            if failed == 1:
                print(report.text())
        elif key is not None:
            envelope.sign(envelope.build(ep.facility, made, content), key)
        t3 = time.perf_counter()
        t_build, t_validate, t_sign = t_build + t1 - t0, t_validate + t2 - t1, t_sign + t3 - t2
    total = time.perf_counter() - start
    print(f"episodes {n}, charge lines {lines_total}, failed validation {failed}")
    print(f"tables built    {t_build:7.2f} s")
    print(f"validated       {t_validate:7.2f} s")
    print(f"envelope+signed {t_sign:7.2f} s{'' if sign else ' (--no-sign)'}")
    print(f"total           {total:7.2f} s  ({total / max(n, 1) * 1000:.1f} ms per episode; goal 1,000 in ≤ 30 s)")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
