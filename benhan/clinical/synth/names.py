"""Vietnamese names by region and sex, with diacritics.

Weights are rough shares curated by us from public name statistics (Nguyễn ≈ 38 % of the population,
Trần ≈ 11 %, Lê ≈ 9.5 % …). The regional differences that matter for realism: Hoàng and Vũ in the
North are mostly Huỳnh and Võ in the South; "Thị" and "Văn" are the most common middle names, less
so among the young and in the South.
"""
from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

NORTH, CENTRAL, SOUTH = "north", "central", "south"

_COMMON = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9.5), ("Phạm", 7), ("Phan", 4.5), ("Đặng", 2.1), ("Bùi", 2),
           ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1), ("Lý", 0.5), ("Đinh", 0.6), ("Trương", 0.6),
           ("Lương", 0.4), ("Mai", 0.4), ("Đào", 0.4), ("Cao", 0.3), ("Tạ", 0.2), ("Lâm", 0.3), ("Kiều", 0.1),
           ("Hà", 0.3), ("Chu", 0.2), ("Tô", 0.2), ("Trịnh", 0.4), ("Thái", 0.2), ("La", 0.1), ("Lưu", 0.2)]
FAMILY = {
    NORTH: _COMMON + [("Hoàng", 4.5), ("Huỳnh", 0.3), ("Vũ", 3.7), ("Võ", 0.3), ("Nông", 0.3)],
    CENTRAL: _COMMON + [("Hoàng", 2.5), ("Huỳnh", 2.5), ("Võ", 3.0), ("Vũ", 1.0), ("Hồ", 1.0)],
    SOUTH: _COMMON + [("Huỳnh", 4.5), ("Hoàng", 0.5), ("Võ", 3.7), ("Vũ", 0.3), ("Lâm", 0.5)],
}
MIDDLE = {
    ("male", NORTH): [("Văn", 40), ("Đức", 10), ("Minh", 10), ("Quang", 6), ("Hữu", 6), ("Xuân", 5), ("Mạnh", 4),
                      ("Tiến", 4), ("Trọng", 4), ("Công", 4), ("Ngọc", 3), ("Thanh", 4)],
    ("male", CENTRAL): [("Văn", 35), ("Đức", 8), ("Minh", 10), ("Quốc", 8), ("Hữu", 8), ("Công", 6), ("Ngọc", 5),
                        ("Thanh", 6), ("Anh", 4), ("Đình", 6)],
    ("male", SOUTH): [("Văn", 30), ("Minh", 12), ("Quốc", 10), ("Hoàng", 8), ("Thanh", 8), ("Tấn", 8), ("Hữu", 6),
                      ("Thành", 6), ("Gia", 6), ("Trung", 4)],
    ("female", NORTH): [("Thị", 45), ("Ngọc", 8), ("Thu", 8), ("Thanh", 6), ("Minh", 5), ("Phương", 5), ("Hồng", 5),
                        ("Thúy", 4), ("Hải", 3), ("Khánh", 4), ("Bảo", 3)],
    ("female", CENTRAL): [("Thị", 45), ("Ngọc", 8), ("Thu", 6), ("Thanh", 6), ("Kim", 6), ("Hoài", 4), ("Như", 5),
                          ("Bảo", 4), ("Minh", 4)],
    ("female", SOUTH): [("Thị", 30), ("Ngọc", 12), ("Kim", 8), ("Thanh", 8), ("Mỹ", 8), ("Bích", 5), ("Hồng", 6),
                        ("Như", 6), ("Bảo", 6), ("Thảo", 5)],
}
GIVEN = {
    "male": ["An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Giang", "Hải", "Hiếu", "Hòa", "Hoàng",
             "Hùng", "Huy", "Khang", "Khánh", "Khoa", "Kiên", "Lâm", "Long", "Lộc", "Minh", "Nam", "Nghĩa", "Nhân",
             "Phong", "Phúc", "Phước", "Quân", "Quang", "Sơn", "Tài", "Tâm", "Thắng", "Thành", "Thịnh", "Toàn",
             "Trí", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ"],
    "female": ["An", "Anh", "Bích", "Châu", "Chi", "Diệp", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền",
               "Hoa", "Hồng", "Huệ", "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan", "Ly", "Mai", "My", "Nga", "Ngân",
               "Ngọc", "Nhi", "Nhung", "Oanh", "Phương", "Phượng", "Quyên", "Tâm", "Thảo", "Thu", "Thủy", "Trang",
               "Trinh", "Tuyết", "Uyên", "Vân", "Vy", "Xuân", "Yến"],
}


class Weighted:
    """Choose from (value, weight) pairs with one bisect (rng.choices rebuilds its table each call)."""

    def __init__(self, pairs: list[tuple]):
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random):  # noqa: ANN201
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


_FAMILY = {region: Weighted(pairs) for region, pairs in FAMILY.items()}
_MIDDLE = {key: Weighted(pairs) for key, pairs in MIDDLE.items()}


def region_of(province_code: str) -> str:
    """North to Ninh Bình (37), Central from Thanh Hóa (38) to Lâm Đồng (68), South from Đồng Nai (70)."""
    n = int(province_code[-2:])
    return NORTH if n <= 37 else CENTRAL if n <= 68 else SOUTH


def person_name(rng: random.Random, region: str, gender: str, birth_year: int) -> tuple[str, str, str]:
    """(family, middle, given). The young less often get Thị/Văn: parents moved to other middle names."""
    family = _FAMILY[region].pick(rng)
    middle = _MIDDLE[(gender, region)].pick(rng)
    if middle in ("Thị", "Văn") and birth_year >= 2000 and rng.random() < 0.5:
        middle = _MIDDLE[(gender, region)].pick(rng)
    given = rng.choice(GIVEN[gender])
    if given == middle:
        given = rng.choice(GIVEN[gender])
    return family, middle, given
