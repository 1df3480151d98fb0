"""Phiếu theo dõi chức năng sống (vital-signs chart), forms-tt32.md §2.5: no TT 32 code was found; the
layout is the QĐ 4069 one hospitals still print (MS 10/BV-01 at one provincial hospital — uncertain,
§5.2). The graph of pulse (red, 40–160/min) and temperature (blue, 35–42 °C) on one grid, seven days
a sheet, each day a morning and an afternoon column; under it blood pressure, respiratory rate,
weight, the 24-hour fluid intake and urine output, and who measured each day (TT 32 Đ52 k2 d).

Only what was recorded: the vital-sign Observations of the stay (clinical.vitals); in a column with
several rounds the latest is drawn (the paper has one dot per column)."""
from __future__ import annotations

import datetime as dt

from benhan.clinical import signers
from benhan.clinical.common import recorder
from benhan.clinical.fluids import days as fluid_days
from benhan.clinical.vitals import readings
from benhan.documents.forms import sources as s
from benhan.documents.forms.data import FormData
from benhan.documents.layout.chart import ChartData, Graph, Row, Scale
from benhan.documents.layout.model import Field, Form, Line
from benhan.vn.display import number

ICT = dt.timezone(dt.timedelta(hours=7))
NOON = 12                   # a reading from noon on is the afternoon column
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"


def _local(iso: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    return t.astimezone(ICT) if t.tzinfo else t


def _days(d: FormData, times: list[dt.datetime]) -> list[dt.date]:
    """From the admission (or the first reading) to the discharge (or the last reading)."""
    period = d.ctx.encounter.get("period") or {}
    ends = [t.date() for t in (_local(period.get("start") or ""), _local(period.get("end") or "")) if t]
    known = sorted([*ends, *(t.date() for t in times)])
    if not known:
        return []
    first, last = known[0], known[-1]
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _slot(t: dt.datetime, days: list[dt.date]) -> int:
    return (t.date() - days[0]).days * 2 + (1 if t.hour >= NOON else 0)


def chart(d: FormData) -> ChartData:
    rounds = [(t, r) for r in readings(d.ctx.rec.vital_signs) if (t := _local(r.when))]
    # The day's intake and urine output (clinical.fluids): a 24-hour total when one was recorded, else the
    # sum of the nurse's shift entries of that day.
    fluids = [(dt.datetime.combine(f.day, dt.time(12), ICT), kind, f.amounts[kind])
              for f in fluid_days(d.ctx.rec.observations, ICT) for kind in ("intake", "urine") if kind in f.amounts]
    days = _days(d, [t for t, _ in rounds] + [t for t, *_ in fluids])
    columns = len(days) * 2
    out = ChartData(days, {"pulse": [None] * columns, "temperature": [None] * columns},
                    {k: [""] * columns for k in ("blood-pressure", "respiratory-rate", "weight")})
    out.rows["fluid-in"] = [""] * len(days)
    out.rows["urine-out"] = [""] * len(days)
    out.rows["nurse"] = [""] * len(days)
    nurses: dict[int, list[str]] = {}
    for t, r in rounds:          # oldest first: a later round in the same column replaces an earlier one
        c = _slot(t, days)
        v = r.values
        for key in ("pulse", "temperature"):
            if key in v:
                out.series[key][c] = float(v[key])
        if "systolic" in v:
            out.rows["blood-pressure"][c] = f"{number(v['systolic'])}/{number(v.get('diastolic'))}"
        for key, field in (("respiratory-rate", "respiratory_rate"), ("weight", "weight")):
            if field in v:
                out.rows[key][c] = number(v[field])
        for oid in set(r.ids.values()):
            who = _recorder_name(d, oid)
            if who and who not in nurses.setdefault(c // 2, []):
                nurses[c // 2].append(who)
    for t, kind, value in fluids:
        out.rows["fluid-in" if kind == "intake" else "urine-out"][(t.date() - days[0]).days] = number(value)
    for day, names in nurses.items():
        out.rows["nurse"][day] = "\n".join(names)
    return out


def _recorder_name(d: FormData, observation_id: str) -> str:
    o = next((x for x in d.ctx.rec.observations if x.get("id") == observation_id), None)
    return signers.full_name({"display": recorder(o)}) if o else ""


def _location(kind: str):  # noqa: ANN202
    def read(d: FormData) -> str:
        for loc in d.ctx.encounter.get("location", []):
            codes = {c.get("code") for c in (loc.get("physicalType") or {}).get("coding", [])
                     if c.get("system") == PHYSICAL_TYPE}
            if kind in codes:
                return (loc.get("location") or {}).get("display", "")
        return ""
    read.__name__ = f"location_{kind}"
    return read


bed = _location("bd")
room = _location("ro")

GRAPH = Graph(
    "chart", chart,
    scales=(Scale("pulse", "Mạch (lần/phút)", 40, 20, (210, 0, 0), label_max=160),
            Scale("temperature", "Nhiệt độ (°C)", 35, 1, (0, 60, 200))),
    slots=("Sáng", "Chiều"),
    rows=(Row("blood-pressure", "1. Huyết áp (mmHg)"), Row("weight", "2. Cân nặng (kg)"),
          Row("respiratory-rate", "3. Nhịp thở (lần/phút)"),
          Row("fluid-in", "4. Dịch vào (ml/24 giờ)", per_day=True),
          Row("urine-out", "5. Nước tiểu (ml/24 giờ)", per_day=True),
          Row("nurse", "Điều dưỡng đo, ghi tên", per_day=True)),
)

FORM = Form(
    key="vitalsigns", code="10/BV-01", title="PHIẾU THEO DÕI CHỨC NĂNG SỐNG", national_heading=False,
    identifiers=(Field("Số vào viện", s.record_number, key="record-number", code=True),),
    record_number=s.record_number, needs=("Observation", "Condition"),
    body=(
        Line((Field("Họ tên người bệnh", s.name, key="name", width=0.5, caps=True),
              Field("Tuổi", s.age, key="age", width=0.2, code=True),
              Field("Nam/nữ", s.gender_words, key="gender", width=0.3))),
        Line((Field("Số giường", bed, key="bed", width=0.3, code=True),
              Field("Buồng", room, key="room", width=0.3, code=True),
              Field("Khoa", s.department, key="department", width=0.4))),
        Field("Chẩn đoán", s.diagnoses_with_codes, key="diagnosis"),
        GRAPH,
    ),
)
