"""The province's desk over N communes: /quahan (goal ≤ 50 ms on both databases), /tonghop, /xuat.

One province (Sở Nội vụ) and N communes below it, each a unit with a clerk and nine officials
who handed their own Quý I report in to the clerk. The province's four CCHC reports of 2024 are
submitted by the communes (`children_submit`): each commune's clerk owes each, Quý I by the
commune's own date (a third 14/03, the rest 15/03). By Tuesday 19/03/2024 09:00, 88 % handed
Quý I in with figures (a tenth of them late), 2 % were returned, 10 % sent nothing; every clerk
was reminded the day before and on the day, the missing ones once more; one is on leave.
Linked as `db.plan.forwarding.relink` links them, without going through the plan loader.

Timed, in one session as the desk answers, median of `--repeat` after one warm-up: the query
(`db.desk.overdue.overdue`), the province's whole /quahan answer (`overdue_text`: the query
and the text), /tonghop of Quý I (with the indicator totals) and /xuat of Quý I (the .xlsx).

``.venv/bin/python bench/province.py --communes 100 --repeat 20``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.cchc import example_report, q1_2024
from bench.common import median, percentile, scratch_database, table, timed
from db.desk.overdue import overdue
from db.figures import Figure, record_figures
from db.kinds import OBLIGATION
from db.migrate import upgrade
from db.models import (
    LeavePeriod,
    Obligation,
    ObligationAssignee,
    Official,
    Reminder,
    ReminderStatus,
    ReviewState,
    Submission,
    Unit,
)
from db.names import fold_name
from db.session import make_engine, make_sessionmaker
from handlers.clerk.context import Desk
from handlers.clerk.export import export_to
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2024, 3, 19, 2, 0, tzinfo=UTC)  # Tuesday 19/03/2024 09:00 in Vietnam
TODAY = date(2024, 3, 19)
OFFICIALS_PER_COMMUNE = 9
# The province's reports of 2024: (report code, title, due, data window).
PERIODS = (
    ("CCHC-Q1", "Báo cáo CCHC Quý I năm 2024", date(2024, 3, 15), date(2023, 12, 15)),
    ("CCHC-6T", "Báo cáo CCHC 6 tháng đầu năm 2024", date(2024, 6, 15), date(2023, 12, 15)),
    ("CCHC-Q3", "Báo cáo CCHC Quý III năm 2024", date(2024, 9, 15), date(2024, 6, 15)),
    ("CCHC-NAM", "Báo cáo CCHC năm 2024", date(2024, 12, 15), date(2023, 12, 15)),
)


def local(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=TZ)


def province_indicators() -> list[Any]:
    """The sample province's CCHC indicators (examples/tinh-quang-ngai.yaml)."""
    return list(example_report("tinh-quang-ngai.yaml")["indicators"])


def person(
    unit_id: int, key: str, name: str, department: str, clerk: bool, official: bool = True
) -> Official:
    return Official(
        unit_id=unit_id,
        key=key,
        full_name=name,
        name_folded=fold_name(name),
        department=department,
        is_official=official,
        is_clerk=clerk,
    )


def figures(rng: random.Random) -> dict[str, Figure]:
    received, settled, needed = rng.randint(200, 600), rng.randint(150, 500), rng.randint(50, 200)
    return {
        "hs_truc_tuyen": Figure(Decimal(rng.randint(0, received))),
        "hs_tiep_nhan": Figure(Decimal(received)),
        "hs_tre_han": Figure(Decimal(rng.randint(0, settled // 5))),
        "hs_giai_quyet": Figure(Decimal(settled)),
        "hs_so_hoa": Figure(Decimal(rng.randint(0, needed))),
        "hs_can_so_hoa": Figure(Decimal(needed)),
        "kho_khan": Figure(text="Thiếu máy scan") if rng.random() < 0.3 else Figure(text=""),
    }


async def build(url: str, communes: int) -> tuple[int, int]:
    """The province and its communes; the province's id and how many communes owe Quý I."""
    await upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(13)
    async with sessions() as session, session.begin():
        province = Unit(code="tinh-bench", name="Sở Nội vụ tỉnh Mẫu", timezone="Asia/Ho_Chi_Minh")
        session.add(province)
        await session.flush()
        officer = person(province.id, "huong", "Lê Thị Thanh Hương", "Phòng CCHC", True, False)
        session.add(officer)
        await session.flush()
        reports = [
            Obligation(
                unit_id=province.id,
                code=f"{code}-2024",
                report_code=code,
                kind="cchc",
                title=title,
                due_date=due,
                window_start=start,
                window_end=due - timedelta(days=1),
                templates=[],
                collector_id=officer.id,
                children_submit=True,
                indicators=province_indicators(),
                outline=[],
                active=True,
            )
            for code, title, due, start in PERIODS
        ]
        session.add_all(reports)
        await session.flush()
        q1 = reports[0]
        for i in range(communes):
            await _commune(session, rng, province.id, reports, i)
        # Every commune's clerk was reminded of Quý I the day before their date and on it.
        clerks = await session.execute(
            select(ObligationAssignee.official_id, ObligationAssignee.own_due).where(
                ObligationAssignee.obligation_id == q1.id
            )
        )
        for clerk_id, own_due in clerks.all():
            assert own_due is not None  # every link above carries the commune's date
            for kind, day in (("before_1", own_due.day - 1), ("due_day", own_due.day)):
                session.add(_sent(q1, clerk_id, kind, local(day, 8)))
        province_id = province.id
    await engine.dispose()
    return province_id, communes


async def _commune(
    session: AsyncSession, rng: random.Random, province_id: int, reports: list[Obligation], i: int
) -> None:
    commune = Unit(
        code=f"xa-{i:03d}",
        name=f"UBND xã Số {i + 1}",
        timezone="Asia/Ho_Chi_Minh",
        parent_id=province_id,
    )
    session.add(commune)
    await session.flush()
    clerk = person(commune.id, "vp", f"Nguyễn Văn Thư {i + 1}", "Văn phòng - Thống kê", True)
    staff = [
        person(commune.id, f"cc{j}", f"Trần Thị Cán {i + 1}.{j}", f"Bộ phận {j}", False)
        for j in range(OFFICIALS_PER_COMMUNE)
    ]
    session.add_all([clerk, *staff])
    await session.flush()
    own_q1 = date(2024, 3, 14) if i % 3 == 0 else date(2024, 3, 15)
    # The commune's own Quý I, collected by its clerk and fed to the province's.
    mine = q1_2024(
        commune.id,
        collector_id=clerk.id,
        forward_to="CCHC-Q1",
        forward_due=own_q1,
        indicators=province_indicators(),
        outline=[],
    )
    session.add(mine)
    await session.flush()
    session.add_all(ObligationAssignee(obligation_id=mine.id, official_id=s.id) for s in staff)
    for official in staff:
        session.add(
            Submission(
                unit_id=commune.id,
                obligation_id=mine.id,
                official_id=official.id,
                version=1,
                submitted_at=local(8, 10),
            )
        )
    for report in reports:
        due = own_q1 if report is reports[0] else report.due_date
        session.add(ObligationAssignee(obligation_id=report.id, official_id=clerk.id, own_due=due))
    await session.flush()
    q1 = reports[0]
    share = (i * 37) % 100  # spread the outcomes over the communes, not by their order
    if share < 88:
        late = share < 9 and own_q1.day == 15
        await _hand_in(session, rng, commune.id, q1, clerk.id, local(18 if late else 14, 10))
    elif share < 90:
        await _hand_in(session, rng, commune.id, q1, clerk.id, local(14, 10), returned=True)
    if share >= 88:
        session.add(_sent(q1, clerk.id, "overdue", local(18, 8)))
    if share == 95:
        session.add(LeavePeriod(official_id=clerk.id, starts_on=date(2024, 3, 18), ends_on=TODAY))


async def _hand_in(
    session: AsyncSession,
    rng: random.Random,
    unit_id: int,
    q1: Obligation,
    clerk_id: int,
    at: datetime,
    returned: bool = False,
) -> None:
    submission = Submission(
        unit_id=unit_id,
        obligation_id=q1.id,
        official_id=clerk_id,
        version=1,
        submitted_at=at,
        review_state=ReviewState.RETURNED if returned else ReviewState.PENDING,
        reviewed_at=at + timedelta(hours=2) if returned else None,
    )
    session.add(submission)
    await session.flush()
    await record_figures(session, submission.id, figures(rng), "chat", at)


def _sent(q1: Obligation, clerk_id: int, kind: str, at: datetime) -> Reminder:
    return Reminder(
        unit_id=q1.unit_id,
        idempotency_key=f"{clerk_id}:{OBLIGATION}:{q1.id}:{kind}:{at.isoformat()}",
        recipient_id=clerk_id,
        subject_type=OBLIGATION,
        subject_id=q1.id,
        kind=kind,
        slot_at=at,
        due_at=at,
        payload={},
        status=ReminderStatus.SENT,
        sent_at=at,
    )


async def measure(backend: str, communes: int, repeat: int) -> list[object]:
    """Median (and p90) ms of each answer, on a fresh database of `backend`."""
    async with scratch_database(backend) as url:
        province_id, owed = await build(url, communes)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with tempfile.TemporaryDirectory(prefix="nvbench-") as tmp:
            async with sessions() as session:
                desk = Desk(session, province_id, TZ, NOW, "vi")

                async def query() -> Any:
                    return await overdue(session, province_id, TODAY)

                async def answer() -> str:
                    return await overdue_text(desk, "")

                async def matrix() -> str:
                    return await summary_text(desk, "CCHC-Q1")

                async def export() -> int:
                    return await export_to(desk, "CCHC-Q1", Path(tmp) / "tong-hop.xlsx")

                q_times, groups = await timed(query, repeat)
                a_times, text = await timed(answer, repeat)
                s_times, _ = await timed(matrix, repeat)
                x_times, _ = await timed(export, max(3, repeat // 4))
        await engine.dispose()
    missing = sum(len(g.rows) for g in groups)
    head = text.split("\n")[3]  # the report's second line: "Hạn … · 12/100 xã chưa nộp, …"
    assert f"{missing}/{owed} xã" in head, head
    return [
        backend,
        communes,
        f"{missing}/{owed}",
        median(q_times),
        percentile(q_times, 90),
        median(a_times),
        percentile(a_times, 90),
        len(text),
        median(s_times),
        median(x_times),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    rows = [asyncio.run(measure(b, args.communes, args.repeat)) for b in args.backends]
    headers = [
        "db",
        "communes",
        "missing",
        "/quahan query ms",
        "p90",
        "/quahan answer ms",
        "p90",
        "chars",
        "/tonghop ms",
        "/xuat ms",
    ]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
