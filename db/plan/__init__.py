"""The plan file: the commune's people, standing tasks and reporting calendar, in YAML.

`read_plan` checks a file (one error with file, line and field, or a `Plan`);
`load_plan` writes a checked plan into the database. See docs/plan-format.md.
"""

from db.plan.calendar import CalendarError, ObligationPlan, expand_report, expand_reports
from db.plan.loader import (
    LoadReport,
    ParentNotLoaded,
    Tally,
    apply_plan,
    load_plan,
    preview_plan,
)
from db.plan.schema import PlanFile, ReportSpec
from db.plan.source import Plan, PlanError, parse_plan, read_plan

__all__ = [
    "CalendarError",
    "LoadReport",
    "ObligationPlan",
    "ParentNotLoaded",
    "Plan",
    "PlanError",
    "PlanFile",
    "ReportSpec",
    "Tally",
    "apply_plan",
    "expand_report",
    "expand_reports",
    "load_plan",
    "parse_plan",
    "preview_plan",
    "read_plan",
]
