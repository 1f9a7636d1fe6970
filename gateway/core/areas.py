"""A.1 行政区划代码: the GB/T 2260 code list (SPEC §2.4), as data shipped in the package.

``gbt2260.tsv`` beside this module holds every province-level (``xx0000``), prefecture-level
(``xxxx00``) and county-level code with its name; its header names where it comes from. The
topology check, the synthetic data and the catalog validation all ask this module, so a code is
valid in one place exactly when it is valid in the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

# ``xxxx00`` entries that group county-level units rather than name a prefecture-level city
_GROUPS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def _load() -> Mapping[str, str]:
    text = files(__package__).joinpath("gbt2260.tsv").read_text(encoding="utf-8")
    rows = (line.partition("\t") for line in text.splitlines() if line and line[0] != "#")
    return MappingProxyType({code: name for code, _, name in rows})


AREAS: Mapping[str, str] = _load()  # code → name, read-only


def is_area_code(code: str) -> bool:
    """A code of the GB/T 2260 list (province, prefecture or county level)."""
    return code in AREAS


def area_name(code: str) -> str | None:
    return AREAS.get(code)


def prefecture_name(code: str) -> str | None:
    """The name of the prefecture-level city a code lies in (``230102`` → 哈尔滨市), if any."""
    name = AREAS.get(f"{code[:4]}00")
    return None if name is None or name in _GROUPS or code[2:4] == "00" else name


def province_code(code: str) -> str:
    """The province-level code a code belongs to (``230102`` → ``230000``)."""
    return f"{code[:2]}0000"


def is_province(code: str) -> bool:
    return code.endswith("0000") and code in AREAS


def prefectures(province: str) -> tuple[str, ...]:
    """The prefecture-level cities (地级行政区) of a province, in code order; groupings such as
    市辖区 are left out, so a municipality (北京市) has none."""
    head = province[:2]
    return tuple(
        code
        for code, name in AREAS.items()
        if code[:2] == head and code[4:] == "00" and code[2:4] != "00" and name not in _GROUPS
    )


def provinces() -> tuple[str, ...]:
    """Every province-level code, in code order."""
    return tuple(code for code in AREAS if code.endswith("0000"))
