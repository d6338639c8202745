"""The reproducible demo data set. Modules register loaders; `attt demo` runs them in order."""

import random
from collections.abc import Callable
from dataclasses import dataclass

DEMO_PASSWORD = "attt-demo-2026"  # printed by `attt demo` and `make run`; demo only


@dataclass
class Loader:
    name: str
    order: int
    func: Callable[["DemoContext"], dict]


@dataclass
class DemoContext:
    rng: random.Random
    scale: float
    progress: Callable[[str], None]
    stdout: object


loaders: list[Loader] = []


def register(name: str, order: int = 100):
    def wrap(func):
        loaders[:] = [x for x in loaders if x.name != name] + [Loader(name, order, func)]
        return func

    return wrap


FAMILY_NAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE_NAMES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thu", "Hoài", "Xuân", "Bảo"]
GIVEN_NAMES = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Ngân",
    "Phong",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
]


def person_name(rng: random.Random) -> tuple[str, str]:
    """A made-up Vietnamese name (last_name holds family + middle name, as forms usually do)."""
    return f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)}", rng.choice(GIVEN_NAMES)
