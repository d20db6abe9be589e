"""The office's name in messages: the plan's (`Unit.office_name`), else a neutral default.

Since the 2025 reorganisation the commune's office is "Văn phòng HĐND và UBND xã"; older plans
named it otherwise, so no message hard-codes it. A stranger has no unit yet: the default.
"""

from __future__ import annotations

from db.models import Unit
from handlers.catalog import t
from handlers.presenting import h


def office_name(unit: Unit | None, lang: str) -> str:
    """The office as the unit's plan names it, escaped for the HTML subset; the catalog's
    neutral "Văn phòng UBND xã" when there is no unit or the plan gives no name."""
    if unit is not None and unit.office_name:
        return h(unit.office_name)
    return t("office.default", lang)
