"""Units in a tree: the province above its communes, and the reports the communes feed.

The bundled examples: Sở Nội vụ tỉnh Quảng Ngãi (tinh-quang-ngai.yaml) above xã Ba Bích and
two sample communes. Each commune's CCHC-Q1 names the province's CCHC-Q1 in `forward_to`; the
province's report is submitted by the communes' clerks, each by their `forward_due`
(Ba Bích 15/03, Mẫu 1 14/03, Mẫu 2 15/03 of 2024; the province's own date is 15/03).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.desk.dues import official_due
from db.desk.overdue import overdue
from db.files import FileStore
from db.kinds import DIGEST_CLERK, OBLIGATION, WEEKLY_DIGEST
from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    Obligation,
    ObligationAssignee,
    Official,
    Reminder,
    Unit,
)
from db.plan import LoadReport, ParentNotLoaded, Plan, PlanError, load_plan, parse_plan
from db.submissions import submit
from db.sweep_marks import set_sweep_marks
from db.unit_tree import ancestors, children_of, descendants, fed_report, feeding_reports, parent_of
from db.workload import report_items
from handlers.reminder_messages import reminder_reply
from scheduler.sweep import sweep_all
from tests.conftest import ROOT
from tests.wording import vi

Sessions = async_sessionmaker[AsyncSession]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EXAMPLES = ROOT / "examples"
PROVINCE = EXAMPLES / "tinh-quang-ngai.yaml"
BA_BICH = EXAMPLES / "ba-bich-2024.yaml"
MAU_1 = EXAMPLES / "xa-mau-1.yaml"
MAU_2 = EXAMPLES / "xa-mau-2.yaml"
PROVINCE_NAME = "Sở Nội vụ tỉnh Quảng Ngãi"
# The province's Quý I submitters: the only report whose indicators open the anchor (`&`).
Q1_SUBMITTERS = (
    "submitters: {units: children}\n    collector: huong\n"
    "    templates: [templates/cchc/de-cuong.docx, templates/cchc/phu-luc.xlsx]\n"
    "    indicators: &"
)


def plan(path: Path, *edits: tuple[str, str]) -> Plan:
    """The example at `path`, with each (old, new) edit made once."""
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return parse_plan(text, str(path))


def local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=TZ)


async def load(sessions: Sessions, *plans: Plan, clock: FixedClock) -> list[LoadReport]:
    reports = []
    for each in plans:
        async with sessions() as session:
            reports.append(await load_plan(session, each, clock))
    return reports


async def load_all(sessions: Sessions, clock: FixedClock) -> None:
    await load(sessions, plan(PROVINCE), plan(BA_BICH), plan(MAU_1), plan(MAU_2), clock=clock)


async def unit(session: AsyncSession, code: str) -> Unit:
    found = await session.scalar(select(Unit).where(Unit.code == code))
    assert found is not None, code
    return found


async def report_of(session: AsyncSession, unit_code: str, code: str) -> Obligation:
    found = await session.scalar(
        select(Obligation).join(Unit).where(Unit.code == unit_code, Obligation.code == code)
    )
    assert found is not None, (unit_code, code)
    return found


async def person(session: AsyncSession, unit_code: str, key: str) -> Official:
    found = await session.scalar(
        select(Official).join(Unit).where(Unit.code == unit_code, Official.key == key)
    )
    assert found is not None, (unit_code, key)
    return found


async def forwarded(sessions: Sessions, code: str = "CCHC-Q1-2024") -> dict[str, date | None]:
    """The province report's assignees as "unit/key" → their own date."""
    async with sessions() as session:
        province = await unit(session, "tinh-quang-ngai")
        rows = await session.execute(
            select(Unit.code, Official.key, ObligationAssignee.own_due)
            .join(Official, Official.id == ObligationAssignee.official_id)
            .join(Unit, Unit.id == Official.unit_id)
            .join(Obligation, Obligation.id == ObligationAssignee.obligation_id)
            .where(Obligation.code == code, Obligation.unit_id == province.id)
        )
        return {f"{u}/{k}": own for u, k, own in rows}


Q1_LINKS = {
    "ba-bich/nhut": date(2024, 3, 15),
    "xa-mau-1/an": date(2024, 3, 14),
    "xa-mau-2/dao": date(2024, 3, 15),
}


# --- the tree ----------------------------------------------------------------------------------


async def test_the_communes_hang_below_the_province(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)

    async with sessionmaker() as session:
        province = await unit(session, "tinh-quang-ngai")
        ba_bich = await unit(session, "ba-bich")
        assert [u.code for u in await children_of(session, province.id)] == [
            "ba-bich",
            "xa-mau-1",
            "xa-mau-2",
        ]
        assert [u.code for u in await descendants(session, province.id)] == [
            "ba-bich",
            "xa-mau-1",
            "xa-mau-2",
        ]
        parent = await parent_of(session, ba_bich.id)
        assert parent is not None and parent.code == "tinh-quang-ngai"
        assert [u.code for u in await ancestors(session, ba_bich.id)] == ["tinh-quang-ngai"]
        assert await parent_of(session, province.id) is None
        assert await children_of(session, ba_bich.id) == []


async def test_a_commune_whose_province_is_not_loaded_is_refused(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    # Ba Bích alone in an empty database stands alone (the one-commune trial)...
    [alone] = await load(sessionmaker, plan(BA_BICH), clock=clock)
    assert alone.parent_missing == "tinh-quang-ngai"

    # ...but with another unit there, a missing parent is a mistake: nothing is written.
    with pytest.raises(ParentNotLoaded) as caught:
        await load(sessionmaker, plan(MAU_1), clock=clock)
    error = caught.value
    assert (error.field, error.line, error.code) == ("unit.parent", 16, "tinh-quang-ngai")
    assert "load the parent's plan first" in str(error)
    assert "nạp kế hoạch của tỉnh trước" in str(error)
    async with sessionmaker() as session:
        assert list(await session.scalars(select(Unit.code))) == ["ba-bich"]

    # Its province loaded, loading the commune again puts it in the tree and links it.
    _, again = await load(sessionmaker, plan(PROVINCE), plan(BA_BICH), clock=clock)
    assert again.parent_missing is None and again.unit_updated
    assert again.forwarded.added == 4
    assert await forwarded(sessionmaker) == {"ba-bich/nhut": date(2024, 3, 15)}


def test_a_unit_cannot_be_its_own_parent() -> None:
    with pytest.raises(PlanError) as caught:
        plan(BA_BICH, ("parent: tinh-quang-ngai", "parent: ba-bich"))
    line = BA_BICH.read_text(encoding="utf-8").splitlines().index("  parent: tinh-quang-ngai") + 1
    assert (caught.value.field, caught.value.line) == ("unit.parent", line)
    assert "cannot be its own parent" in caught.value.message


async def test_a_province_cannot_be_put_below_its_commune(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load(sessionmaker, plan(PROVINCE), plan(BA_BICH), clock=clock)
    upside_down = plan(PROVINCE, ("  reports_to: Bộ Nội vụ\n", "  parent: ba-bich\n"))

    with pytest.raises(PlanError) as caught:
        await load(sessionmaker, upside_down, clock=clock)
    assert caught.value.field == "unit.parent"
    assert "below" in caught.value.message


def test_a_report_of_the_children_needs_no_people_of_its_own() -> None:
    province = plan(PROVINCE)
    assert all(o.children_submit for o in province.obligations)
    assert province.spec.submitters_of(province.spec.reports[0]) == []
    with pytest.raises(PlanError) as caught:
        plan(PROVINCE, (Q1_SUBMITTERS, Q1_SUBMITTERS.replace("units: children", "units: all")))
    assert caught.value.field == "reports[0].submitters.units"


@pytest.mark.parametrize("path", [PROVINCE, MAU_1, MAU_2], ids=lambda p: p.stem)
def test_the_province_and_the_sample_communes_are_marked_as_sample_data(path: Path) -> None:
    example = plan(path)
    assert all(official.sample for official in example.spec.officials)
    assert "SAMPLE" in path.read_text(encoding="utf-8").split("\n\n")[0]
    for template in {t for o in example.obligations for t in o.templates}:
        assert (EXAMPLES / template).is_file()


# --- linking the reports -----------------------------------------------------------------------


async def test_the_communes_clerks_owe_the_provinces_report_by_their_own_date(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)

    assert await forwarded(sessionmaker) == Q1_LINKS
    # Only Ba Bích feeds the other periods; the sample communes have only a Quý I report.
    assert await forwarded(sessionmaker, "CCHC-6T-2024") == {"ba-bich/nhut": date(2024, 6, 15)}
    async with sessionmaker() as session:
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        an = await person(session, "xa-mau-1", "an")
        nhut = await person(session, "ba-bich", "nhut")
        assert await official_due(session, q1, an.id) == date(2024, 3, 14)
        assert await official_due(session, q1, nhut.id) == date(2024, 3, 15)
        # The clerk's own list of what they owe holds the province's report, by their date.
        items = {i.obligation.id: i.due for i in await report_items(session, an.id)}
        assert items[q1.id] == date(2024, 3, 14)

        commune_q1 = await report_of(session, "xa-mau-1", "CCHC-Q1-2024")
        fed = await fed_report(session, commune_q1)
        assert fed is not None and fed.id == q1.id
        feeding = await feeding_reports(session, q1)
        codes = {u.id: u.code for u in await session.scalars(select(Unit))}
        assert [codes[r.unit_id] for r in feeding] == ["ba-bich", "xa-mau-1", "xa-mau-2"]


async def test_a_commune_past_its_own_date_is_overdue_before_the_provinces_date(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)

    async with sessionmaker() as session:
        province = await unit(session, "tinh-quang-ngai")
        [group] = await overdue(session, province.id, date(2024, 3, 15))
    assert group.code == "CCHC-Q1-2024" and group.due == date(2024, 3, 15)
    # Mẫu 1 is late; Ba Bích and Mẫu 2, whose date is today, have not handed in either: the
    # list names everyone "chưa nộp", as /tonghop counts them, the late one first.
    assert [(row.full_name, row.due) for row in group.rows] == [
        ("Nguyễn Văn An", date(2024, 3, 14)),
        ("Trần Văn Nhứt", date(2024, 3, 15)),
        ("Phạm Thị Đào", date(2024, 3, 15)),
    ]
    assert [row.standing.overdue(date(2024, 3, 15)) for row in group.rows if row.standing] == [
        True,
        False,
        False,
    ]


async def test_the_links_are_the_same_whichever_plan_comes_second(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    # The province first without its reports, then the communes, then its reports: the
    # linking runs at the province's second load.
    text = PROVINCE.read_text(encoding="utf-8")
    bare = parse_plan(text[: text.index("\n# One report per CCHC period")], str(PROVINCE))
    await load(sessionmaker, bare, plan(BA_BICH), plan(MAU_1), plan(MAU_2), clock=clock)
    assert await forwarded(sessionmaker) == {}

    [province] = await load(sessionmaker, plan(PROVINCE), clock=clock)

    assert province.forwarded.added == 3 + 3  # Quý I from three communes, Ba Bích's other three
    assert await forwarded(sessionmaker) == Q1_LINKS


async def test_loading_any_plan_again_changes_nothing(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)
    async with sessionmaker() as session:
        audits = await session.scalar(select(func.count(AuditEntry.id)))

    reports = await load(
        sessionmaker, plan(MAU_1), plan(PROVINCE), plan(BA_BICH), plan(MAU_2), clock=clock
    )

    assert [r.changed for r in reports] == [False, False, False, False]
    assert not any(r.forwarded.changed for r in reports)
    assert await forwarded(sessionmaker) == Q1_LINKS
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(AuditEntry.id))) == audits


async def test_a_commune_that_changes_its_plan_is_relinked(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)

    # A new date: the link is re-dated.
    [later] = await load(
        sessionmaker,
        plan(MAU_1, ("forward_due: {day: 14, month: 3}", "forward_due: {day: 18, month: 3}")),
        clock=clock,
    )
    assert (later.forwarded.added, later.forwarded.redated, later.forwarded.removed) == (0, 1, 0)
    assert (await forwarded(sessionmaker))["xa-mau-1/an"] == date(2024, 3, 18)

    # Free text in forward_to links nothing (as before the tree): the link goes.
    [text] = await load(
        sessionmaker,
        plan(MAU_2, ("forward_to: CCHC-Q1", "forward_to: UBND tỉnh (qua Sở Nội vụ)")),
        clock=clock,
    )
    assert text.forwarded.removed == 1
    assert "xa-mau-2/dao" not in await forwarded(sessionmaker)

    # Out of the tree: Ba Bích's four links go.
    [moved] = await load(
        sessionmaker, plan(BA_BICH, ("  parent: tinh-quang-ngai\n", "")), clock=clock
    )
    assert moved.forwarded.removed == 4
    assert await forwarded(sessionmaker) == {"xa-mau-1/an": date(2024, 3, 18)}

    # The province reloaded keeps the links it does not manage itself.
    [province] = await load(sessionmaker, plan(PROVINCE), clock=clock)
    assert not province.changed
    assert await forwarded(sessionmaker) == {"xa-mau-1/an": date(2024, 3, 18)}


async def test_a_province_report_no_longer_taken_from_the_children_drops_them(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    await load_all(sessionmaker, clock)

    [province] = await load(
        sessionmaker,
        plan(
            PROVINCE,
            (Q1_SUBMITTERS, Q1_SUBMITTERS.replace("units: children", "officials: [huong]")),
        ),
        clock=clock,
    )

    assert province.forwarded.removed == 3
    assert await forwarded(sessionmaker) == {"tinh-quang-ngai/huong": None}


# --- reminders and digests across units ------------------------------------------------------


@pytest.fixture
async def tree(sessionmaker: Sessions, clock: FixedClock) -> dict[str, Official]:
    """Every plan loaded and every person with a reachable chat; people by "unit/key"."""
    await load_all(sessionmaker, clock)
    async with sessionmaker() as session:
        rows = await session.execute(select(Unit.code, Official).join(Unit))
        people = {f"{code}/{o.key}": o for code, o in rows}
        for official in people.values():
            session.add(
                ChannelIdentity(
                    official_id=official.id,
                    channel=Channel.TELEGRAM,
                    external_id=str(9000 + official.id),
                    bound_at=clock.now(),
                    reachable=True,
                )
            )
        await session.commit()
    return people


async def sweep_between(sessions: Sessions, after: str, until: str) -> None:
    async with sessions() as session, session.begin():
        await set_sweep_marks(session, local(after))
    async with sessions() as session, session.begin():
        await sweep_all(session, local(until))


async def about_province_q1(
    sessions: Sessions, people: dict[str, Official]
) -> list[tuple[str, str]]:
    """(recipient "unit/key", kind) of the outbox rows about the province's Quý I report."""
    names = {o.id: name for name, o in people.items()}
    async with sessions() as session:
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        rows = await session.scalars(
            select(Reminder)
            .where(Reminder.subject_type == OBLIGATION, Reminder.subject_id == q1.id)
            .order_by(Reminder.id)
        )
        return sorted((names[r.recipient_id], r.kind) for r in rows)


async def test_each_commune_clerk_is_reminded_by_their_own_date(
    sessionmaker: Sessions, tree: dict[str, Official]
) -> None:
    # Mẫu 1's date is Thu 14/03: the day before, 08:00, only its clerk hears of it.
    await sweep_between(sessionmaker, "13/03/2024 07:59", "13/03/2024 08:01")
    assert await about_province_q1(sessionmaker, tree) == [("xa-mau-1/an", "before_1")]

    # Thu 14/03: Mẫu 1's due day, the others' day before (Fri 15/03).
    await sweep_between(sessionmaker, "14/03/2024 07:59", "14/03/2024 08:01")
    assert await about_province_q1(sessionmaker, tree) == [
        ("ba-bich/nhut", "before_1"),
        ("xa-mau-1/an", "before_1"),
        ("xa-mau-1/an", "due_day"),
        ("xa-mau-2/dao", "before_1"),
    ]


async def test_a_commune_clerk_on_leave_gets_no_reminder_that_day(
    sessionmaker: Sessions, clock: FixedClock, tree: dict[str, Official]
) -> None:
    on_leave = plan(
        MAU_2,
        (
            "    roles: [official, clerk]\n    sample: true\n",
            "    roles: [official, clerk]\n    sample: true\n"
            "    leave: [{from: 14/03/2024, to: 14/03/2024}]\n",
        ),
    )
    await load(sessionmaker, on_leave, clock=clock)

    await sweep_between(sessionmaker, "14/03/2024 07:59", "14/03/2024 08:01")

    assert ("xa-mau-2/dao", "before_1") not in await about_province_q1(sessionmaker, tree)


async def test_the_reminder_names_the_province_and_the_clerks_date(
    sessionmaker: Sessions, tree: dict[str, Official], tmp_path: Path
) -> None:
    await sweep_between(sessionmaker, "13/03/2024 07:59", "13/03/2024 08:01")
    async with sessionmaker() as session:
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        row = await session.scalar(select(Reminder).where(Reminder.subject_id == q1.id))
        assert row is not None
        reply = await reminder_reply(session, row, FileStore(tmp_path))

    assert reply is not None
    title = vi("units.report_of", title="Báo cáo CCHC Quý I năm 2024", unit=PROVINCE_NAME)
    assert reply.text.startswith(
        vi("remind.before", title=title, due="14/03/2024", when=vi("when.left", days=1))
    )


async def test_the_province_officer_gets_the_digest_of_missing_communes(
    sessionmaker: Sessions, clock: FixedClock, tree: dict[str, Official], tmp_path: Path
) -> None:
    # Ba Bích hands in on time (Fri 15/03); Mẫu 1 (due 14/03) has not.
    async with sessionmaker() as session, session.begin():
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        nhut = await session.get(Official, tree["ba-bich/nhut"].id)
        assert nhut is not None
        done = await submit(session, nhut, q1, [], local("15/03/2024 07:00"), TZ, actor="test")
        assert done.late_days == 0

    # Fri 15/03, a day after Mẫu 1's date: the province's clerk hears who is missing.
    await sweep_between(sessionmaker, "15/03/2024 07:59", "15/03/2024 08:01")
    digests = [r for r in await about_province_q1(sessionmaker, tree) if r[1] == DIGEST_CLERK]
    assert digests == [("tinh-quang-ngai/huong", DIGEST_CLERK)]

    async with sessionmaker() as session:
        row = await session.scalar(select(Reminder).where(Reminder.kind == DIGEST_CLERK))
        assert row is not None
        assert [m["official_id"] for m in row.payload["missing"]] == [tree["xa-mau-1/an"].id]
        reply = await reminder_reply(session, row, FileStore(tmp_path))
    assert reply is not None
    # Counted as every view counts it at that moment: Mẫu 1 is late, Mẫu 2's date is today.
    marks = ", ".join(
        [vi("desk.state.overdue", days=1), vi("clerk.province.own_due", due="14/03/2024")]
    )
    assert reply.text.split("\n") == [
        vi(
            "units.digest_obligation",
            title="Báo cáo CCHC Quý I năm 2024",
            due="15/03/2024",
            share="2/3",
            rate="chiếm 66,7%",
        ),
        vi(
            "desk.digest.line",
            name="Nguyễn Văn An",
            department="UBND xã Mẫu 1 (dữ liệu mẫu)",
            marks=vi("desk.digest.marks", marks=marks),
        ),
        vi(
            "desk.digest.line",
            name="Phạm Thị Đào",
            department="UBND xã Mẫu 2 (dữ liệu mẫu)",
            marks="",
        ),
    ]

    # Mon 18/03 (Sat 16/03 moved out of the weekend): Mẫu 2 is missing, Ba Bích is not.
    await sweep_between(sessionmaker, "18/03/2024 07:59", "18/03/2024 08:01")
    async with sessionmaker() as session:
        later = list(
            await session.scalars(
                select(Reminder)
                .where(Reminder.kind == DIGEST_CLERK, Reminder.subject_id == q1.id)
                .order_by(Reminder.id)
            )
        )
    assert [r.recipient_id for r in later] == [tree["tinh-quang-ngai/huong"].id] * 2
    assert [m["official_id"] for m in later[-1].payload["missing"]] == [tree["xa-mau-2/dao"].id]


async def test_no_commune_clerk_gets_the_provinces_digests(
    sessionmaker: Sessions, tree: dict[str, Official]
) -> None:
    await sweep_between(sessionmaker, "15/03/2024 07:59", "15/03/2024 08:01")
    await sweep_between(sessionmaker, "18/03/2024 07:59", "18/03/2024 08:01")

    async with sessionmaker() as session:
        province = await unit(session, "tinh-quang-ngai")
        recipients = set(
            await session.scalars(
                select(Reminder.recipient_id).where(
                    Reminder.unit_id == province.id, Reminder.kind.like("digest_%")
                )
            )
        )
    assert recipients == {tree["tinh-quang-ngai/huong"].id}


async def test_the_provinces_weekly_digest_renders(
    sessionmaker: Sessions, tree: dict[str, Official], tmp_path: Path
) -> None:
    await sweep_between(sessionmaker, "18/03/2024 07:59", "18/03/2024 08:01")
    async with sessionmaker() as session:
        province = await unit(session, "tinh-quang-ngai")
        row = await session.scalar(
            select(Reminder).where(Reminder.unit_id == province.id, Reminder.kind == WEEKLY_DIGEST)
        )
        assert row is not None and row.recipient_id == tree["tinh-quang-ngai/huong"].id
        reply = await reminder_reply(session, row, FileStore(tmp_path))
    assert reply is not None and reply.text
