"""A synthetic Vietnamese person: sex, birth date, name, CCCD consistent with birth province, year
and sex, BHYT card in a current form, a real address (a commune of the 2025 list), a phone number,
ethnicity and occupation. Every identifier passes benhan.vn's validators (tests/clinical)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from benhan.clinical.synth.names import SOUTH, Weighted, person_name, region_of
from benhan.terminology import sources
from benhan.vn.bhyt import make_legacy_bhyt
from benhan.vn.identifiers import make_cccd
from benhan.vn.phone import MOBILE_PREFIXES
from benhan.vn.provinces import new_province_of

# Rough population of the 34 provinces (millions, after the 2025 merger; curated by us from public
# estimates) so that patients spread as people do.
POPULATION = {"01": 8.7, "04": 0.57, "08": 1.87, "11": 0.64, "12": 0.48, "14": 1.3, "15": 1.78, "19": 1.8,
              "20": 0.8, "22": 1.4, "24": 3.6, "25": 4.0, "31": 4.7, "33": 3.6, "37": 4.4, "38": 4.3, "40": 3.8,
              "42": 1.6, "44": 1.9, "46": 1.4, "48": 3.1, "51": 2.2, "52": 3.6, "56": 2.2, "66": 3.3, "68": 3.9,
              "75": 4.5, "79": 14.0, "80": 3.3, "82": 4.4, "86": 4.3, "91": 4.9, "92": 4.2, "96": 2.6}
# Ages in 5-year bands 0–4 … 90–94 (shares of Vietnam's population pyramid, rounded).
AGE_BANDS = Weighted([(0, 7.5), (5, 8), (10, 7.8), (15, 7), (20, 7), (25, 7.5), (30, 8), (35, 7.8), (40, 7.2),
                      (45, 6.5), (50, 6), (55, 5.5), (60, 4.8), (65, 3.8), (70, 2.6), (75, 1.6), (80, 1.1),
                      (85, 0.7), (90, 0.4)])
MINORITIES = {"north": Weighted([("02", 19), ("03", 18), ("06", 15), ("08", 13), ("07", 11), ("09", 9), ("15", 2),
                                 ("18", 2)]),
              "central": Weighted([("03", 8), ("06", 6), ("10", 6), ("12", 5), ("13", 4), ("14", 3), ("16", 3),
                                   ("17", 2), ("19", 2)]),
              "south": Weighted([("05", 12), ("04", 6), ("17", 1)])}
WORKING_GROUPS = Weighted([("DN", 30), ("GD", 25), ("HC", 8), ("HN", 4), ("CN", 4), ("DT", 4), ("CH", 4),
                           ("XK", 1), ("QN", 1), ("CA", 1), ("TN", 1), ("BT", 1), ("HX", 1)])
OCCUPATION_BY_GROUP = {"HC": "2", "CH": "3", "QN": "0", "CA": "0", "XK": "4", "HS": None, "SV": None, "TE": None}
OCCUPATIONS = Weighted([("6", 28), ("9", 20), ("5", 16), ("7", 12), ("8", 9), ("3", 5), ("2", 6), ("4", 3), ("1", 1)])
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Lý Thường Kiệt", "Hai Bà Trưng", "Quang Trung", "Lê Duẩn",
           "Nguyễn Huệ", "Hùng Vương", "Phan Chu Trinh", "Điện Biên Phủ", "Võ Thị Sáu", "Trần Phú", "Lạc Long Quân"]


@lru_cache(maxsize=1)
def wards_by_province() -> dict[str, list[tuple[str, str, str]]]:
    """New province code → [(ward code, ward name, division type)] of the 2025 list."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in sources.rows(sources.WARDS_2025):
        out.setdefault(r["province_code"], []).append((r["code"], r["name"], r["division_type"]))
    return out


@lru_cache(maxsize=1)
def province_names() -> dict[str, str]:
    return {r["code"]: r["name"] for r in sources.rows(sources.PROVINCES_2025)}


@lru_cache(maxsize=1)
def old_codes_of() -> dict[str, list[str]]:
    """New province → the old provinces merged into it (where people living there were born)."""
    out: dict[str, list[str]] = {}
    for old, new in sorted(new_province_of().items()):
        out.setdefault(new, []).append(old)
    return out


PROVINCES = Weighted(sorted(POPULATION.items()))


@dataclass
class Person:
    gender: str
    birth: date
    family: str
    middle: str
    given: str
    cccd: str
    bhyt: str | None            # the card number, None when uninsured
    bhyt_group: str | None
    ward_code: str
    ward: str
    province_code: str
    province: str
    line: str
    phone: str
    ethnicity: str
    occupation: str | None

    @property
    def name(self) -> str:
        return f"{self.family} {self.middle} {self.given}"

    @property
    def female(self) -> bool:
        return self.gender == "female"

    def age(self, on: date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))


def _birth(rng: random.Random, today: date) -> date:
    age = AGE_BANDS.pick(rng) + rng.randrange(5)
    return today - timedelta(days=age * 365 + rng.randrange(365))


def _bhyt(rng: random.Random, age: int, old_province: str, number: int) -> tuple[str | None, str | None]:
    """About 93 % are insured. Legacy 15-character cards still dominate; newer cards print the 10-digit
    BHXH number; since 2025 many present the CCCD instead (then the card number is the CCCD: None here
    means the caller uses the CCCD)."""
    r = rng.random()
    if r < 0.07:
        return None, None
    if age < 6:
        group = "TE"
    elif age < 18:
        group = "HS"
    elif age < 23 and rng.random() < 0.4:
        group = "SV"
    elif age >= 60 and rng.random() < 0.45:
        group = "HT"
    elif age >= 80 and rng.random() < 0.3:
        group = "CT"
    else:
        group = WORKING_GROUPS.pick(rng)
    # The BHXH number is lifelong and unique: the old province, then a serial from the patient number.
    bhxh = f"{old_province}{(number * 48271 + 12345) % 100_000_000:08d}"
    if r < 0.70:
        return make_legacy_bhyt(group, old_province, bhxh), group
    if r < 0.85:
        return bhxh, group
    return "cccd", group


def _line(rng: random.Random, division: str, region: str) -> str:
    if division == "phường":
        return f"Số {rng.randint(1, 350)} đường {rng.choice(STREETS)}"
    hamlet = "Ấp" if region == SOUTH else rng.choice(["Thôn", "Thôn", "Xóm", "Bản"]) if region == "north" else "Thôn"
    return f"{hamlet} {rng.randint(1, 12)}"


def make_person(rng: random.Random, number: int, today: date, province: str | None = None) -> Person:
    """One person; `number` (unique per data set, < 1,000,000) makes the CCCD and BHXH serials unique."""
    gender = "female" if rng.random() < 0.507 else "male"
    birth = _birth(rng, today)
    province = province or PROVINCES.pick(rng)
    region = region_of(province)
    ward_code, ward, division = rng.choice(wards_by_province()[province])
    # Most people were born where they live; one in five moved from elsewhere.
    old = rng.choice(old_codes_of()[province]) if rng.random() < 0.8 else rng.choice(sorted(new_province_of()))
    family, middle, given = person_name(rng, region_of(old), gender, birth.year)
    # A bijection of the number onto 6 digits: unique serials that do not look sequential.
    cccd = make_cccd(f"0{old}", birth, gender == "female", (number * 7919 + 104_729) % 1_000_000)
    age = today.year - birth.year
    bhyt, group = _bhyt(rng, age, old, number)
    if bhyt == "cccd":
        bhyt = cccd
    ethnicity = "01" if rng.random() < 0.853 else MINORITIES[region].pick(rng)
    occupation = None
    if age >= 18:
        occupation = OCCUPATION_BY_GROUP.get(group or "", "") or ("9" if group == "HT" else OCCUPATIONS.pick(rng))
    phone = f"{rng.choice(sorted(MOBILE_PREFIXES))}{rng.randrange(10**7):07d}"
    return Person(gender, birth, family, middle, given, cccd, bhyt, group if bhyt else None, ward_code, ward,
                  province, province_names()[province], _line(rng, division, region), phone, ethnicity, occupation)
