"""The example plans' CCHC reports, for benchmarks that build their data directly."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from bench.common import ROOT
from db.models import Obligation


def example_report(plan: str = "ba-bich-2024.yaml", code: str = "CCHC-Q1") -> dict[str, Any]:
    """A report of an example plan as written: its indicators, outline and so on."""
    loaded = yaml.safe_load((ROOT / "examples" / plan).read_text(encoding="utf-8"))
    report: dict[str, Any] = next(r for r in loaded["reports"] if r["code"] == code)
    return report


def q1_2024(unit_id: int, **columns: Any) -> Obligation:
    """The Quý I 2024 CCHC report of a unit, with the example's indicators and outline;
    `columns` add to or override its columns (collector, forward_to, children_submit...)."""
    report = example_report()
    values: dict[str, Any] = {
        "unit_id": unit_id,
        "code": "CCHC-Q1-2024",
        "report_code": "CCHC-Q1",
        "kind": "cchc",
        "title": "Báo cáo CCHC Quý I năm 2024",
        "due_date": date(2024, 3, 10),
        "window_start": date(2023, 12, 15),
        "window_end": date(2024, 3, 14),
        "templates": [],
        "indicators": report["indicators"],
        "outline": report["outline"],
        "active": True,
    }
    return Obligation(**{**values, **columns})
