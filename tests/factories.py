"""A small commune built in code, for tests that should not depend on the plan loader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AssigneeRole,
    Obligation,
    ObligationAssignee,
    Official,
    Task,
    TaskAssignee,
    Unit,
)
from db.names import fold_name


@dataclass
class Commune:
    unit: Unit
    clerk: Official
    leader: Official
    an: Official
    binh: Official
    task_24: Task
    task_25: Task
    q1: Obligation
    six_months: Obligation


def _official(unit: Unit, key: str, name: str, department: str, **roles: bool) -> Official:
    return Official(
        unit=unit,
        key=key,
        full_name=name,
        name_folded=fold_name(name),
        position="Công chức",
        department=department,
        is_official=roles.get("official", True),
        is_clerk=roles.get("clerk", False),
        is_leader=roles.get("leader", False),
        active=True,
        language="vi",
    )


async def build_commune(session: AsyncSession) -> Commune:
    """Ba Bích in miniature: a clerk, a leader, two officials, two tasks, two reports."""
    unit = Unit(code="ba-bich", name="UBND xã Ba Bích", timezone="Asia/Ho_Chi_Minh")
    clerk = _official(unit, "nhut", "Nguyễn Văn Nhứt", "Văn phòng - Thống kê", clerk=True)
    leader = _official(
        unit, "luong", "Phạm Văn Lương", "Lãnh đạo UBND", official=False, leader=True
    )
    an = _official(unit, "an", "Trần Văn An", "Tư pháp - Hộ tịch")
    binh = _official(unit, "binh", "Lê Thị Bình", "Bộ phận một cửa")
    session.add_all([unit, clerk, leader, an, binh])
    await session.flush()
    task_24 = Task(
        unit_id=unit.id,
        code="2.4",
        title="Đẩy mạnh số hóa hồ sơ <TTHC> & kết nối dữ liệu dân cư",
        detail="",
        source_ref="",
        due_date=date(2024, 6, 30),
        priority=False,
        active=True,
    )
    task_25 = Task(
        unit_id=unit.id,
        code="2.5",
        title="Đào tạo, bồi dưỡng công chức",
        detail="",
        source_ref="",
        priority=False,
        active=True,
    )
    q1 = Obligation(
        unit_id=unit.id,
        code="CCHC-Q1-2024",
        report_code="CCHC-Q1",
        kind="cchc",
        title="Báo cáo CCHC Quý I năm 2024",
        due_date=date(2024, 3, 10),
        window_start=date(2023, 12, 15),
        window_end=date(2024, 3, 14),
        templates=[],
        collector=clerk,
        active=True,
    )
    six = Obligation(
        unit_id=unit.id,
        code="CCHC-6T-2024",
        report_code="CCHC-6T",
        kind="cchc",
        title="Báo cáo CCHC 6 tháng đầu năm 2024",
        due_date=date(2024, 6, 10),
        window_start=date(2023, 12, 15),
        window_end=date(2024, 6, 14),
        templates=[],
        collector=clerk,
        active=True,
    )
    session.add_all([task_24, task_25, q1, six])
    await session.flush()
    session.add_all(
        [
            TaskAssignee(task_id=task_24.id, official_id=an.id, role=AssigneeRole.LEAD),
            TaskAssignee(task_id=task_24.id, official_id=binh.id, role=AssigneeRole.COORDINATE),
            TaskAssignee(task_id=task_25.id, official_id=binh.id, role=AssigneeRole.LEAD),
            *(
                ObligationAssignee(obligation_id=o.id, official_id=p.id)
                for o in (q1, six)
                for p in (an, binh)
            ),
        ]
    )
    await session.commit()
    return Commune(unit, clerk, leader, an, binh, task_24, task_25, q1, six)
