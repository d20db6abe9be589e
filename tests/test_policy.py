"""The reminder policy of issue 4 on the seed's calendar, and its properties under hypothesis."""

from __future__ import annotations

import os
import time as systime
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.kinds import (
    ASSIGNED,
    CHECKIN,
    DIGEST_CLERK,
    DIGEST_LEADERS,
    DUE_DAY,
    OBLIGATION,
    OVERDUE,
    TASK,
)
from handlers.catalog import _messages as catalog_messages
from handlers.catalog import message_keys, placeholders
from handlers.reminder_preview import format_preview
from scheduler.policy import (
    COORDINATE,
    LEAD,
    AssigneeState,
    DueReminder,
    ObligationView,
    OfficialView,
    PlanSnapshot,
    PolicyConfig,
    ReminderRule,
    TaskView,
    coalesce,
    preview,
    reminders_between,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CONFIG = PolicyConfig()
CAL = CONFIG.calendar()

# Ba Bích's people: ids as the database would give them.
NHUT = 1  # clerk (Văn phòng - Thống kê)
LUONG = 2  # chairman
MANH = 3  # vice-chairman
HOA = 4
THU = 5
SON = 6

PEOPLE = {
    NHUT: OfficialView(NHUT, roles=frozenset({"official", "clerk"})),
    LUONG: OfficialView(LUONG, roles=frozenset({"leader"})),
    MANH: OfficialView(MANH, roles=frozenset({"leader"})),
    HOA: OfficialView(HOA),
    THU: OfficialView(THU),
    SON: OfficialView(SON),
}
NAMES = {
    NHUT: "Lê Văn Nhứt",
    LUONG: "Phạm Văn Lương",
    MANH: "Phạm Văn Mạnh",
    HOA: "Nguyễn Thị Hoa",
    THU: "Trần Thị Thu",
    SON: "Võ Văn Sơn",
}
TEMPLATES = ("templates/cchc/de-cuong.docx", "templates/cchc/phu-luc.xlsx")


def d(text: str) -> date:
    """A dd/mm/yyyy date, as in the seed."""
    day, month, year = (int(p) for p in text.split("/"))
    return date(year, month, day)


def local(text: str) -> datetime:
    """A "dd/mm/yyyy HH:MM" Ba Bích wall time, as aware UTC."""
    day, clock = text.split(" ")
    hh, mm = (int(p) for p in clock.split(":"))
    return datetime.combine(d(day), time(hh, mm), tzinfo=HCM).astimezone(UTC)


def shown(at: datetime) -> str:
    return at.astimezone(HCM).strftime("%a %d/%m/%Y %H:%M")


def q1_report(*assignees: AssigneeState, **changes: object) -> ObligationView:
    """Báo cáo CCHC Quý I năm 2024: due Sunday 10/3/2024, data 15/12/2023 – 14/3/2024."""
    fields: dict[str, object] = {
        "id": 1,
        "code": "CCHC-Q1-2024",
        "title": "Báo cáo CCHC Quý I năm 2024",
        "due_date": d("10/03/2024"),
        "window_start": d("15/12/2023"),
        "window_end": d("14/03/2024"),
        "templates": TEMPLATES,
        "assignees": assignees,
    }
    fields.update(changes)
    return ObligationView(**fields)  # type: ignore[arg-type]


def snapshot(
    obligations: Sequence[ObligationView] = (),
    tasks: Sequence[TaskView] = (),
    people: dict[int, OfficialView] | None = None,
) -> PlanSnapshot:
    return PlanSnapshot(people if people is not None else PEOPLE, obligations, tasks)


def calendar_of(reminders: Sequence[DueReminder], recipient: int) -> list[tuple[str, str]]:
    return [(shown(r.slot_at), r.kind) for r in reminders if r.recipient_id == recipient]


@pytest.fixture(params=["America/New_York", "Pacific/Kiritimati", "UTC"])
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run with the process's local time zone set elsewhere: nothing may depend on it."""
    zone: str = request.param
    with process_zone(zone):
        yield zone


class process_zone:
    """Temporarily set the process's TZ."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.saved: str | None = None

    def __enter__(self) -> None:
        self.saved = os.environ.get("TZ")
        os.environ["TZ"] = self.zone
        systime.tzset()

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.saved
        systime.tzset()


# -- the seed's Quý I report -------------------------------------------------------------------


def test_q1_report_calendar_for_one_official_with_nothing_submitted(server_zone: str) -> None:
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = preview(plan, CONFIG, d("01/03/2024"), d("15/03/2024"))
    assert calendar_of(got, HOA) == [
        ("Fri 01/03/2024 08:00", "before_7"),  # nominal Sunday 03/03, moved earlier
        ("Thu 07/03/2024 08:00", "before_3"),
        # before_1 (Sat 09/03) and due_day (Sun 10/03) both move to Friday: one is kept.
        ("Fri 08/03/2024 08:00", DUE_DAY),
        ("Mon 11/03/2024 08:00", OVERDUE),  # first working day after the due date
        ("Wed 13/03/2024 08:00", OVERDUE),  # then every 2 working days
        ("Fri 15/03/2024 08:00", OVERDUE),
    ]
    assert calendar_of(got, NHUT) == [("Mon 11/03/2024 08:00", DIGEST_CLERK)]
    assert calendar_of(got, LUONG) == [("Wed 13/03/2024 08:00", DIGEST_LEADERS)]
    assert calendar_of(got, MANH) == [("Wed 13/03/2024 08:00", DIGEST_LEADERS)]
    assert {r.recipient_id for r in got} == {HOA, NHUT, LUONG, MANH}


def test_overdue_cadence_decays_to_weekly_after_two_weeks_and_ends_after_30_days() -> None:
    # Issue 14 replaced "every 2 working days until submitted": the fast cadence holds while
    # the nominal day is within 14 days of the due date (Sun 10/03 → Sun 24/03), then weekly
    # from the last fast day, and nothing after 10/03 + 30 days (Tue 09/04).
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = [r for r in preview(plan, CONFIG, d("16/03/2024"), d("30/06/2024"))]
    assert calendar_of(got, HOA) == [
        ("Tue 19/03/2024 08:00", OVERDUE),
        ("Thu 21/03/2024 08:00", OVERDUE),
        ("Thu 28/03/2024 08:00", OVERDUE),
        ("Thu 04/04/2024 08:00", OVERDUE),
    ]
    assert [r.payload["days_late"] for r in got] == [9, 11, 18, 25]


def test_slots_are_0100_utc_and_keys_use_the_nominal_slot() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = preview(plan, CONFIG, d("01/03/2024"), d("11/03/2024"))
    first = got[0]
    assert first.slot_at == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    assert first.nominal_at == datetime(2024, 3, 3, 1, 0, tzinfo=UTC)
    assert first.idempotency_key == "4:obligation:1:before_7:202403030100"
    due_day = next(r for r in got if r.kind == DUE_DAY)
    assert due_day.slot_at == datetime(2024, 3, 8, 1, 0, tzinfo=UTC)
    assert due_day.idempotency_key == "4:obligation:1:due_day:202403100100"
    digest = next(r for r in got if r.kind == DIGEST_CLERK)
    assert digest.idempotency_key == "1:obligation:1:digest_clerk:202403110100"
    assert all(len(r.idempotency_key) <= 200 for r in got)


def test_the_first_reminder_carries_the_templates_and_every_one_the_data_window() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = [
        r for r in preview(plan, CONFIG, d("01/03/2024"), d("15/03/2024")) if r.recipient_id == HOA
    ]
    assert [r.first_for_subject for r in got] == [True, False, False, False, False, False]
    assert got[0].payload == {
        "code": "CCHC-Q1-2024",
        "title": "Báo cáo CCHC Quý I năm 2024",
        "due_date": "2024-03-10",
        "window_start": "2023-12-15",
        "window_end": "2024-03-14",
        "days_left": 9,  # counted from Friday 01/03, the day it is sent
        "templates": list(TEMPLATES),
    }
    assert all("templates" not in r.payload for r in got[1:])
    assert all(r.payload["window_end"] == "2024-03-14" for r in got)
    assert [r.payload.get("days_left") for r in got[:3]] == [9, 3, 2]
    assert [r.payload.get("days_late") for r in got[3:]] == [1, 3, 5]


def test_digest_is_one_message_per_subject_listing_who_is_missing() -> None:
    assignees = [AssigneeState(p) for p in (HOA, THU, SON)]
    plan = snapshot([q1_report(*assignees)])
    got = preview(plan, CONFIG, d("11/03/2024"), d("11/03/2024"))
    digests = [r for r in got if r.is_digest]
    assert len(digests) == 1
    digest = digests[0]
    assert (digest.recipient_id, digest.kind, digest.subject_type, digest.subject_id) == (
        NHUT,
        DIGEST_CLERK,
        OBLIGATION,
        1,
    )
    assert digest.payload["days_late"] == 1
    assert digest.payload["missing"] == [
        {"official_id": p, "on_leave": False, "reachable": True} for p in (HOA, THU, SON)
    ]
    assert not digest.first_for_subject


def test_every_clerk_gets_one_digest_and_nobody_gets_one_when_all_submitted() -> None:
    people = dict(PEOPLE)
    people[SON] = OfficialView(SON, roles=frozenset({"clerk"}))
    missing = snapshot([q1_report(AssigneeState(HOA))], people=people)
    got = preview(missing, CONFIG, d("11/03/2024"), d("11/03/2024"))
    assert sorted(r.recipient_id for r in got if r.kind == DIGEST_CLERK) == [NHUT, SON]
    all_in = snapshot([q1_report(AssigneeState(HOA, done=True))], people=people)
    assert preview(all_in, CONFIG, d("01/03/2024"), d("31/03/2024")) == []


# -- quiet time: Tết Ất Tỵ 2025 ----------------------------------------------------------------


def report_due(due: str, *assignees: AssigneeState) -> ObligationView:
    return q1_report(*assignees, due_date=d(due), code="R", title="R")


def test_tet_2025_pushes_the_overdue_reminder_and_the_digests_to_the_next_working_day() -> None:
    plan = snapshot([report_due("24/01/2025", AssigneeState(HOA))])
    got = preview(plan, CONFIG, d("24/01/2025"), d("06/02/2025"))
    assert calendar_of(got, HOA) == [
        ("Fri 24/01/2025 08:00", DUE_DAY),
        # Tết runs Mon 27/01 – Sat 01/02: the first overdue day is Monday 03/02.
        ("Mon 03/02/2025 08:00", OVERDUE),
        ("Wed 05/02/2025 08:00", OVERDUE),
    ]
    clerk = [r for r in got if r.kind == DIGEST_CLERK]
    leaders = [r for r in got if r.kind == DIGEST_LEADERS]
    assert [shown(r.slot_at) for r in clerk] == ["Mon 03/02/2025 08:00"]
    assert [shown(r.nominal_at) for r in clerk] == ["Sat 25/01/2025 08:00"]
    assert [shown(r.slot_at) for r in leaders] == ["Mon 03/02/2025 08:00"] * 2
    assert [shown(r.nominal_at) for r in leaders] == ["Mon 27/01/2025 08:00"] * 2


def test_tet_2025_pulls_the_before_deadline_reminders_back_and_collapses_them() -> None:
    plan = snapshot([report_due("03/02/2025", AssigneeState(HOA))])
    got = preview(plan, CONFIG, d("20/01/2025"), d("03/02/2025"))
    # before_7 (Mon 27/01), before_3 (Fri 31/01) and before_1 (Sun 02/02) all fall in the
    # break and move back to Friday 24/01: only the one closest to the deadline is sent.
    assert calendar_of(got, HOA) == [
        ("Fri 24/01/2025 08:00", "before_1"),
        ("Mon 03/02/2025 08:00", DUE_DAY),
    ]
    assert got[0].first_for_subject
    assert got[0].payload["days_left"] == 10
    assert shown(got[0].nominal_at) == "Sun 02/02/2025 08:00"


def test_collapse_rule_keeps_the_reminder_closest_to_the_deadline() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA))])
    friday = preview(plan, CONFIG, d("08/03/2024"), d("08/03/2024"))
    assert [(r.kind, shown(r.nominal_at)) for r in friday] == [(DUE_DAY, "Sun 10/03/2024 08:00")]


def test_quiet_time_allowed_sends_at_the_nominal_slot() -> None:
    config = PolicyConfig(allow_quiet_time=True)
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = preview(plan, config, d("01/03/2024"), d("11/03/2024"))
    assert calendar_of(got, HOA) == [
        ("Sun 03/03/2024 08:00", "before_7"),
        ("Thu 07/03/2024 08:00", "before_3"),
        ("Sat 09/03/2024 08:00", "before_1"),
        ("Sun 10/03/2024 08:00", DUE_DAY),
        ("Mon 11/03/2024 08:00", OVERDUE),
    ]


def test_extra_days_off_from_the_config_move_reminders() -> None:
    config = PolicyConfig(extra_days_off=frozenset({d("07/03/2024")}))
    plan = snapshot([q1_report(AssigneeState(HOA))])
    got = preview(plan, config, d("01/03/2024"), d("08/03/2024"))
    assert calendar_of(got, HOA) == [
        ("Fri 01/03/2024 08:00", "before_7"),
        ("Wed 06/03/2024 08:00", "before_3"),
        ("Fri 08/03/2024 08:00", DUE_DAY),
    ]


# -- leave, done, returned ---------------------------------------------------------------------


def test_an_official_on_leave_gets_nothing_and_shows_as_on_leave_in_the_digest() -> None:
    people = dict(PEOPLE)
    people[THU] = OfficialView(THU, leaves=((d("04/03/2024"), d("15/03/2024")),))
    plan = snapshot([q1_report(AssigneeState(HOA), AssigneeState(THU))], people=people)
    got = preview(plan, CONFIG, d("01/03/2024"), d("20/03/2024"))
    assert calendar_of(got, THU) == [
        ("Fri 01/03/2024 08:00", "before_7"),  # before the leave
        ("Tue 19/03/2024 08:00", OVERDUE),  # back from leave
    ]
    digest = next(r for r in got if r.kind == DIGEST_CLERK)
    assert digest.payload["missing"] == [
        {"official_id": HOA, "on_leave": False, "reachable": True},
        {"official_id": THU, "on_leave": True, "reachable": True},
    ]


def test_first_reminder_after_a_leave_is_the_first_for_that_person() -> None:
    people = dict(PEOPLE)
    people[THU] = OfficialView(THU, leaves=((d("01/03/2024"), d("07/03/2024")),))
    plan = snapshot([q1_report(AssigneeState(THU))], people=people)
    got = [
        r for r in preview(plan, CONFIG, d("01/03/2024"), d("15/03/2024")) if r.recipient_id == THU
    ]
    assert [(shown(r.slot_at), r.first_for_subject) for r in got][:2] == [
        ("Fri 08/03/2024 08:00", True),
        ("Mon 11/03/2024 08:00", False),
    ]
    assert got[0].payload["templates"] == list(TEMPLATES)


def test_a_clerk_on_leave_gets_no_digest() -> None:
    people = dict(PEOPLE)
    people[NHUT] = OfficialView(
        NHUT, roles=frozenset({"clerk"}), leaves=((d("11/03/2024"), d("11/03/2024")),)
    )
    plan = snapshot([q1_report(AssigneeState(HOA))], people=people)
    assert not [
        r for r in preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024")) if r.kind == DIGEST_CLERK
    ]


def test_inactive_or_unreachable_officials_get_nothing() -> None:
    people = dict(PEOPLE)
    people[HOA] = OfficialView(HOA, active=False)
    people[THU] = OfficialView(THU, reachable=False)
    plan = snapshot([q1_report(AssigneeState(HOA), AssigneeState(THU))], people=people)
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024"))
    assert not [r for r in got if r.recipient_id in (HOA, THU)]
    digest = next(r for r in got if r.kind == DIGEST_CLERK)
    # The inactive one is no longer expected; the unreachable one is, and the clerk sees why.
    assert digest.payload["missing"] == [
        {"official_id": THU, "on_leave": False, "reachable": False}
    ]


def test_an_assignee_who_is_done_gets_nothing() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA, done=True))])
    assert preview(plan, CONFIG, d("01/01/2024"), d("31/12/2024")) == []


def test_a_returned_submission_restarts_the_reminders_after_restarted_at() -> None:
    returned = AssigneeState(HOA, restarted_at=local("12/03/2024 10:00"))
    plan = snapshot([q1_report(returned)])
    got = preview(plan, CONFIG, d("01/03/2024"), d("15/03/2024"))
    assert [
        (shown(r.slot_at), r.kind, r.first_for_subject) for r in got if r.recipient_id == HOA
    ] == [
        ("Wed 13/03/2024 08:00", OVERDUE, True),
        ("Fri 15/03/2024 08:00", OVERDUE, False),
    ]
    assert got[-1].recipient_id == HOA
    assert "templates" in next(r for r in got if r.first_for_subject).payload


def test_a_slot_exactly_at_restarted_at_is_not_produced() -> None:
    returned = AssigneeState(HOA, restarted_at=local("13/03/2024 08:00"))
    plan = snapshot([q1_report(returned)])
    got = [
        r for r in preview(plan, CONFIG, d("13/03/2024"), d("15/03/2024")) if r.recipient_id == HOA
    ]
    assert [shown(r.slot_at) for r in got] == ["Fri 15/03/2024 08:00"]


# -- tasks and check-ins -------------------------------------------------------------------------


def task(**changes: object) -> TaskView:
    fields: dict[str, object] = {
        "id": 1,
        "code": "2.1",
        "title": "Triển khai Kế hoạch CCHC năm 2024",
        "assignees": (AssigneeState(HOA),),
    }
    fields.update(changes)
    return TaskView(**fields)  # type: ignore[arg-type]


def test_monthly_checkin_on_the_25th_moves_off_weekends() -> None:
    t = task(checkin_rrule="FREQ=MONTHLY;BYMONTHDAY=25", checkin_start=d("01/01/2024"))
    got = preview(snapshot(tasks=[t]), CONFIG, d("01/01/2024"), d("31/05/2024"))
    assert [(shown(r.slot_at), shown(r.nominal_at)) for r in got] == [
        ("Thu 25/01/2024 08:00", "Thu 25/01/2024 08:00"),
        ("Mon 26/02/2024 08:00", "Sun 25/02/2024 08:00"),
        ("Mon 25/03/2024 08:00", "Mon 25/03/2024 08:00"),
        ("Thu 25/04/2024 08:00", "Thu 25/04/2024 08:00"),
        ("Mon 27/05/2024 08:00", "Sat 25/05/2024 08:00"),
    ]
    assert {(r.kind, r.subject_type, r.subject_id) for r in got} == {(CHECKIN, TASK, 1)}
    assert [r.first_for_subject for r in got] == [True, False, False, False, False]
    assert got[0].payload == {"code": "2.1", "title": t.title, "due_date": None}
    assert got[1].idempotency_key == "4:task:1:checkin:202402250100"


def test_checkin_falling_in_tet_2025_moves_to_the_next_working_day() -> None:
    t = task(checkin_rrule="FREQ=MONTHLY;BYMONTHDAY=28", checkin_start=d("01/01/2025"))
    got = preview(snapshot(tasks=[t]), CONFIG, d("01/01/2025"), d("10/02/2025"))
    # Tuesday 28/01/2025 is in the Tết break.
    assert [(shown(r.slot_at), shown(r.nominal_at)) for r in got] == [
        ("Mon 03/02/2025 08:00", "Tue 28/01/2025 08:00")
    ]


def test_checkins_meeting_on_one_slot_collapse_to_the_latest() -> None:
    t = task(checkin_rrule="FREQ=DAILY", checkin_start=d("08/03/2024"))
    got = preview(snapshot(tasks=[t]), CONFIG, d("08/03/2024"), d("12/03/2024"))
    # Saturday's and Sunday's prompts would join Monday's: one prompt on Monday.
    assert [(shown(r.slot_at), shown(r.nominal_at)) for r in got] == [
        ("Fri 08/03/2024 08:00", "Fri 08/03/2024 08:00"),
        ("Mon 11/03/2024 08:00", "Mon 11/03/2024 08:00"),
        ("Tue 12/03/2024 08:00", "Tue 12/03/2024 08:00"),
    ]


def test_a_task_with_a_deadline_and_checkins_gets_both_and_one_per_slot() -> None:
    t = task(
        due_date=d("30/06/2024"),
        checkin_rrule="FREQ=WEEKLY;BYDAY=FR",
        checkin_start=d("01/03/2024"),
    )
    got = preview(snapshot(tasks=[t]), CONFIG, d("21/06/2024"), d("05/07/2024"))
    # Every Friday has a check-in, but before_7 (Sun 23/06), before_1 and due_day (Sat 29/06,
    # Sun 30/06) are pulled back onto Fridays, and an overdue day can be a Friday: the
    # deadline reminder is kept, the check-in of that slot is dropped.
    assert calendar_of(got, HOA) == [
        ("Fri 21/06/2024 08:00", "before_7"),
        ("Thu 27/06/2024 08:00", "before_3"),
        ("Fri 28/06/2024 08:00", DUE_DAY),
        ("Mon 01/07/2024 08:00", OVERDUE),
        ("Wed 03/07/2024 08:00", OVERDUE),
        ("Fri 05/07/2024 08:00", OVERDUE),
    ]
    assert [r.payload.get("days_left") for r in got[:3]] == [9, 3, 2]
    assert calendar_of(got, NHUT) == [("Mon 01/07/2024 08:00", DIGEST_CLERK)]


def test_a_task_without_deadline_or_checkin_gets_nothing() -> None:
    assert preview(snapshot(tasks=[task()]), CONFIG, d("01/01/2024"), d("31/12/2024")) == []


def test_checkins_stop_at_the_deadline_and_the_overdue_cadence_takes_over() -> None:
    t = task(
        due_date=d("19/03/2024"),
        checkin_rrule="FREQ=WEEKLY;BYDAY=MO",
        checkin_start=d("01/03/2024"),
    )
    got = preview(snapshot(tasks=[t]), CONFIG, d("01/03/2024"), d("30/04/2024"))
    # Monday check-ins until the deadline (Mon 18/03 yields to before_1), none after it:
    # from Wed 20/03 the overdue cadence chases, and it ends after 30 days.
    assert calendar_of(got, HOA) == [
        ("Mon 04/03/2024 08:00", CHECKIN),
        ("Mon 11/03/2024 08:00", CHECKIN),
        ("Tue 12/03/2024 08:00", "before_7"),
        ("Fri 15/03/2024 08:00", "before_3"),
        ("Mon 18/03/2024 08:00", "before_1"),
        ("Tue 19/03/2024 08:00", DUE_DAY),
        ("Wed 20/03/2024 08:00", OVERDUE),
        ("Fri 22/03/2024 08:00", OVERDUE),
        ("Tue 26/03/2024 08:00", OVERDUE),
        ("Thu 28/03/2024 08:00", OVERDUE),
        ("Mon 01/04/2024 08:00", OVERDUE),
        ("Mon 08/04/2024 08:00", OVERDUE),
        ("Mon 15/04/2024 08:00", OVERDUE),
    ]


# -- per-subject rules -----------------------------------------------------------------------------


def test_a_rule_overrides_offsets_and_hour_for_one_report() -> None:
    special = q1_report(
        AssigneeState(HOA), rule=ReminderRule(before_days=(5, 2), hour=9, minute=30)
    )
    other = q1_report(AssigneeState(THU), id=2, code="OTHER")
    got = preview(snapshot([special, other]), CONFIG, d("01/03/2024"), d("11/03/2024"))
    assert calendar_of(got, HOA) == [
        ("Tue 05/03/2024 09:30", "before_5"),
        ("Fri 08/03/2024 09:30", DUE_DAY),  # before_2 is Friday too: collapsed
        ("Mon 11/03/2024 09:30", OVERDUE),
    ]
    assert calendar_of(got, THU)[0] == ("Fri 01/03/2024 08:00", "before_7")
    # Digests keep the office's hour, whatever the report's rule.
    assert [shown(r.slot_at) for r in got if r.kind == DIGEST_CLERK] == ["Mon 11/03/2024 08:00"] * 2


def test_a_reminder_hour_outside_working_hours_is_clamped() -> None:
    early = q1_report(AssigneeState(HOA), rule=ReminderRule(hour=6))
    got = preview(snapshot([early]), CONFIG, d("06/03/2024"), d("11/03/2024"))
    assert calendar_of(got, HOA) == [
        ("Wed 06/03/2024 07:00", "before_3"),  # 06:00 on Thursday is too early: the day before
        ("Fri 08/03/2024 07:00", DUE_DAY),
        ("Mon 11/03/2024 07:00", OVERDUE),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"reminder_hour": 24},
        {"before_days": (0,)},
        {"overdue_every_working_days": 0},
        {"clerk_digest_after_days": 0},
        {"working_weekdays": frozenset()},
    ],
)
def test_bad_configs_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PolicyConfig(**changes)  # type: ignore[arg-type]


def test_windows_need_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        reminders_between(snapshot(), CONFIG, datetime(2024, 3, 1), local("02/03/2024 00:00"))
    assert (
        reminders_between(snapshot(), CONFIG, local("02/03/2024 00:00"), local("01/03/2024 00:00"))
        == []
    )


# -- the sweep's view: windows, catch-up ---------------------------------------------------------


def test_one_minute_sweeps_add_up_to_the_day() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA), AssigneeState(THU))])
    start = local("11/03/2024 00:00")
    minutes = [
        r
        for i in range(24 * 60)
        for r in reminders_between(
            plan, CONFIG, start + timedelta(minutes=i), start + timedelta(minutes=i + 1)
        )
    ]
    assert minutes == preview(plan, CONFIG, d("11/03/2024"), d("11/03/2024"))
    assert {shown(r.slot_at) for r in minutes} == {"Mon 11/03/2024 08:00"}


def test_catch_up_after_a_three_day_outage_is_coalesced() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA), AssigneeState(THU))])
    # Down from Wednesday 06/03 18:00 to Monday 11/03 09:00.
    burst = reminders_between(plan, CONFIG, local("06/03/2024 18:00"), local("11/03/2024 09:00"))
    assert Counter(r.recipient_id for r in burst) == {HOA: 3, THU: 3, NHUT: 1}
    kept = coalesce(burst)
    assert [(r.recipient_id, r.kind, shown(r.slot_at)) for r in kept] == [
        (NHUT, DIGEST_CLERK, "Mon 11/03/2024 08:00"),
        (HOA, OVERDUE, "Mon 11/03/2024 08:00"),
        (THU, OVERDUE, "Mon 11/03/2024 08:00"),
    ]


def test_coalesce_keeps_the_first_reminder_templates() -> None:
    plan = snapshot([q1_report(AssigneeState(HOA))])
    burst = reminders_between(plan, CONFIG, local("29/02/2024 12:00"), local("08/03/2024 12:00"))
    assert [r.kind for r in burst] == ["before_7", "before_3", DUE_DAY]
    (kept,) = coalesce(burst)
    assert kept.kind == DUE_DAY
    assert kept.first_for_subject
    assert kept.payload["templates"] == list(TEMPLATES)
    assert kept.payload["days_left"] == 2


def test_coalesce_keeps_digests_per_kind() -> None:
    people = dict(PEOPLE)
    people[NHUT] = OfficialView(NHUT, roles=frozenset({"clerk", "leader"}))
    plan = snapshot([q1_report(AssigneeState(HOA))], people=people)
    burst = reminders_between(plan, CONFIG, local("10/03/2024 00:00"), local("14/03/2024 00:00"))
    kept = [r for r in coalesce(burst) if r.recipient_id == NHUT]
    assert [r.kind for r in kept] == [DIGEST_CLERK, DIGEST_LEADERS]


# -- the clerk's preview text ---------------------------------------------------------------------


def test_format_preview_in_vietnamese_and_english() -> None:
    people = dict(PEOPLE)
    people[THU] = OfficialView(THU, leaves=((d("04/03/2024"), d("15/03/2024")),))
    plan = snapshot([q1_report(AssigneeState(HOA), AssigneeState(THU))], people=people)
    got = preview(plan, CONFIG, d("01/03/2024"), d("11/03/2024"))
    vi = format_preview(got, NAMES, HCM, "vi")
    assert vi.splitlines()[0] == (
        "Lịch nhắc việc: 6 tin nhắn, 6 nội dung (các dòng cùng giờ, cùng người là một tin nhắn)"
    )
    assert vi.splitlines()[-4:] == [
        "Số tin nhắn mỗi người nhận:",
        "Nguyễn Thị Hoa: 4",
        "Lê Văn Nhứt: 1",
        "Trần Thị Thu: 1",
    ]
    assert (
        "01/03/2024 08:00 | Nguyễn Thị Hoa | CCHC-Q1-2024 | Nhắc trước hạn 10/03/2024 (còn 9 ngày) "
        "(dời từ 03/03/2024 08:00) kèm 2 tệp mẫu"
    ) in vi
    assert "Nhắc hạn nộp 10/03/2024 (còn 2 ngày) (dời từ 10/03/2024 08:00)" in vi
    assert "Nhắc quá hạn 10/03/2024 (trễ 1 ngày)" in vi
    assert (
        "11/03/2024 08:00 | Lê Văn Nhứt | CCHC-Q1-2024 | Tổng hợp gửi văn phòng, hạn 10/03/2024: "
        "2 người chưa nộp: Nguyễn Thị Hoa, Trần Thị Thu (nghỉ phép)"
    ) in vi
    en = format_preview(got, NAMES, HCM, "en")
    assert "2 not submitted: Nguyễn Thị Hoa, Trần Thị Thu (on leave)" in en
    assert (
        format_preview([], NAMES, HCM, "vi") == "Không có tin nhắc nào trong khoảng thời gian này."
    )
    assert "Người số 99" in format_preview(
        [dataclass_replace(got[0], recipient_id=99)], NAMES, HCM, "vi"
    )


def dataclass_replace(r: DueReminder, **changes: object) -> DueReminder:
    import dataclasses

    return dataclasses.replace(r, **changes)  # type: ignore[arg-type]


def test_reminder_messages_exist_in_both_languages_with_the_same_placeholders() -> None:
    vi = {k for k in message_keys("vi") if k.startswith("reminders.")}
    en = {k for k in message_keys("en") if k.startswith("reminders.")}
    assert vi == en
    assert vi
    for key in vi:
        assert placeholders(catalog_messages("vi")[key]) == placeholders(
            catalog_messages("en")[key]
        ), key


# -- performance -----------------------------------------------------------------------------------


def test_a_one_minute_window_over_many_rows_finds_exactly_the_due_ones() -> None:
    """Correctness at scale; its speed is measured by bench/, never asserted here."""
    import random

    rng = random.Random(4)
    today = d("07/03/2024")
    people = {i: OfficialView(i) for i in range(1, 501)}
    people[1] = OfficialView(1, roles=frozenset({"clerk"}))
    obligations = []
    for i in range(10_000):
        # 1% due today (before_3), the rest later in the year.
        due = today + timedelta(days=3 if i % 100 == 0 else rng.randint(10, 300))
        obligations.append(
            ObligationView(
                i,
                f"R{i}",
                "R",
                due,
                d("15/12/2023"),
                d("14/03/2024"),
                TEMPLATES,
                (AssigneeState(rng.randint(2, 500)),),
            )
        )
    plan = snapshot(obligations, people=people)
    until = local("07/03/2024 08:00")
    got = reminders_between(plan, CONFIG, until - timedelta(minutes=1), until)
    assert len(got) == 100
    assert {r.subject_id for r in got} == {i for i in range(10_000) if i % 100 == 0}
    assert {r.kind for r in got} == {"before_3"}


# -- properties ------------------------------------------------------------------------------------

OFFICIAL_IDS = range(1, 7)
MOSTLY_TRUE = st.sampled_from([True, True, True, False])
RULES = [
    "FREQ=MONTHLY;BYMONTHDAY=25",
    "FREQ=WEEKLY;BYDAY=MO,SA",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20",
]
# Around Tết Ất Tỵ 2025 (Mon 27/01 – Sat 01/02), so deadlines, windows and leaves meet holidays.
span_days = st.dates(min_value=date(2025, 1, 10), max_value=date(2025, 2, 28))


@st.composite
def leaves(draw: st.DrawFn) -> tuple[tuple[date, date], ...]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(span_days)
        out.append((start, start + timedelta(days=draw(st.integers(0, 20)))))
    return tuple(out)


@st.composite
def officials(draw: st.DrawFn) -> dict[int, OfficialView]:
    people = {}
    for i in OFFICIAL_IDS:
        roles = draw(st.sets(st.sampled_from(["official", "clerk", "leader"]), min_size=1))
        people[i] = OfficialView(
            i,
            active=draw(MOSTLY_TRUE),
            roles=frozenset(roles),
            leaves=draw(leaves()),
            reachable=draw(MOSTLY_TRUE),
        )
    return people


instants = st.datetimes(
    min_value=datetime(2025, 1, 5), max_value=datetime(2025, 3, 5), timezones=st.just(UTC)
)


@st.composite
def assignees(draw: st.DrawFn) -> tuple[AssigneeState, ...]:
    ids = draw(st.lists(st.sampled_from(list(OFFICIAL_IDS)), unique=True, min_size=1, max_size=4))
    out = []
    for i in ids:
        restarted = draw(
            st.none()
            | st.datetimes(
                min_value=datetime(2025, 1, 5),
                max_value=datetime(2025, 3, 5),
                timezones=st.just(UTC),
            )
        )
        out.append(
            AssigneeState(
                i,
                done=draw(st.booleans()) and draw(st.booleans()),
                restarted_at=restarted,
                role=draw(st.sampled_from([LEAD, LEAD, COORDINATE])),
                assigned_at=draw(st.none() | instants),
            )
        )
    return tuple(out)


reminder_rules = st.none() | st.builds(
    ReminderRule,
    before_days=st.none() | st.lists(st.integers(1, 30), max_size=4).map(tuple),
    hour=st.none() | st.integers(0, 23),
    minute=st.none() | st.sampled_from([0, 15, 30]),
)


@st.composite
def plans(draw: st.DrawFn) -> PlanSnapshot:
    obligations = [
        ObligationView(
            i,
            f"R{i}",
            "R",
            draw(span_days),
            d("15/12/2023"),
            d("14/03/2024"),
            draw(st.sampled_from([(), TEMPLATES])),
            draw(assignees()),
            draw(reminder_rules),
            # Issue 14: the chase ends after chase_days or before the series' next report.
            chase_days=draw(st.none() | st.integers(0, 60)),
            series_next_due=draw(st.none() | span_days),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    tasks = [
        TaskView(
            i,
            f"2.{i}",
            "T",
            draw(st.none() | span_days),
            draw(st.none() | st.sampled_from(RULES)),
            draw(st.none() | span_days),
            draw(assignees()),
            draw(reminder_rules),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    return PlanSnapshot(draw(officials()), obligations, tasks)


durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def window(after: datetime, length: timedelta) -> tuple[datetime, datetime]:
    return after, after + length


@PROPS
@given(plans(), instants, durations)
def test_property_every_slot_is_in_working_time(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    for r in reminders_between(plan, CONFIG, *window(after, length)):
        assert CAL.is_working_time(r.slot_at), r
        assert not CAL.is_holiday(CAL.local_date(r.slot_at)), r
        assert r.slot_at.tzinfo is UTC and r.nominal_at.tzinfo is UTC


@PROPS
@given(plans(), instants, durations)
def test_property_before_deadline_reminders_stay_before_the_deadline(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    for r in reminders_between(plan, CONFIG, *window(after, length)):
        assert r.due_date is not None or r.kind in (CHECKIN, ASSIGNED)
        if r.kind == ASSIGNED:
            # A notice is no later than the due date, at the reminder time moved later.
            assert r.due_date is None or CAL.local_date(r.slot_at) <= r.due_date
            assert r.slot_at >= r.nominal_at
        elif r.kind == DUE_DAY or r.kind.startswith("before_"):
            assert r.due_date is not None
            end_of_due_day = CAL.at(r.due_date + timedelta(days=1), time(0, 0))
            assert r.slot_at < end_of_due_day
            assert r.slot_at <= r.nominal_at
        else:
            assert r.slot_at >= r.nominal_at


@PROPS
@given(plans(), instants, durations, durations)
def test_property_adjacent_windows_add_up(
    plan: PlanSnapshot, a: datetime, ab: timedelta, bc: timedelta
) -> None:
    b, c = a + ab, a + ab + bc
    whole = reminders_between(plan, CONFIG, a, c)
    parts = reminders_between(plan, CONFIG, a, b) + reminders_between(plan, CONFIG, b, c)
    assert whole == parts


@PROPS
@given(plans(), instants, durations)
def test_property_deterministic_unique_and_zone_independent(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    first = reminders_between(plan, CONFIG, *window(after, length))
    assert reminders_between(plan, CONFIG, *window(after, length)) == first
    keys = [r.idempotency_key for r in first]
    assert len(keys) == len(set(keys))
    assert all(len(k) <= 200 for k in keys)
    with process_zone("America/Los_Angeles"):
        elsewhere = reminders_between(plan, CONFIG, *window(after, length))
    assert elsewhere == first
    assert first == sorted(first, key=lambda r: (r.slot_at, r.recipient_id))


@PROPS
@given(plans(), instants, durations)
def test_property_nobody_done_on_leave_or_away_is_reminded(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    subjects = {(OBLIGATION, o.id): o.assignees for o in plan.obligations} | {
        (TASK, t.id): t.assignees for t in plan.tasks
    }
    seen: set[tuple[int, str, int | None, datetime]] = set()
    for r in reminders_between(plan, CONFIG, *window(after, length)):
        person = plan.officials[r.recipient_id]
        assert person.active and person.reachable
        assert not person.on_leave(CAL.local_date(r.slot_at))
        if r.is_digest:
            role = "clerk" if r.kind == DIGEST_CLERK else "leader"
            assert role in person.roles
            missing = {m["official_id"] for m in r.payload["missing"]}
            expected = {
                a.official_id
                for a in subjects[(r.subject_type, r.subject_id or 0)]
                if not a.done and plan.officials[a.official_id].active
            }
            assert missing == expected and missing
            continue
        (state,) = [
            a
            for a in subjects[(r.subject_type, r.subject_id or 0)]
            if a.official_id == r.recipient_id
        ]
        assert not state.done
        assert state.restarted_at is None or r.slot_at > state.restarted_at
        if state.role == COORDINATE:
            assert r.kind not in (OVERDUE, CHECKIN)
        if r.kind == ASSIGNED:
            assert state.assigned_at is not None and r.slot_at > state.assigned_at
        # At most one reminder per person, subject and slot (the collapse rule).
        key = (r.recipient_id, r.subject_type, r.subject_id, r.slot_at)
        assert key not in seen
        seen.add(key)


@PROPS
@given(plans(), st.dates(min_value=date(2024, 3, 1), max_value=date(2026, 6, 30)))
def test_property_exactly_one_first_reminder_and_it_is_the_earliest(
    plan: PlanSnapshot, end: date
) -> None:
    got = [
        r
        for r in preview(plan, CONFIG, date(2023, 11, 1), end)
        if not r.is_digest and r.kind != ASSIGNED
    ]
    groups: dict[tuple[int, str, int | None], list[DueReminder]] = {}
    for r in got:
        groups.setdefault((r.recipient_id, r.subject_type, r.subject_id), []).append(r)
    for group in groups.values():
        assert [r.first_for_subject for r in group] == [True] + [False] * (len(group) - 1)


@PROPS
@given(plans(), instants, durations)
def test_property_coalesce_keeps_the_newest_per_person_and_subject(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    burst = reminders_between(plan, CONFIG, *window(after, length))
    kept = coalesce(burst)
    plain = [(r.recipient_id, r.subject_type, r.subject_id) for r in kept if not r.is_digest]
    assert len(plain) == len(set(plain))
    for r in kept:
        same = [
            o
            for o in burst
            if (o.recipient_id, o.subject_type, o.subject_id)
            == (r.recipient_id, r.subject_type, r.subject_id)
            and o.is_digest == r.is_digest
            and (not r.is_digest or o.kind == r.kind)
        ]
        assert r.slot_at == max(o.slot_at for o in same)
    assert coalesce(kept) == kept


def oracle(
    plan: PlanSnapshot, config: PolicyConfig, after: datetime, until: datetime
) -> set[tuple[int, str, int | None, str, datetime, datetime]]:
    """The policy written the slow, obvious way: walk every day, then filter the window."""
    from dateutil.rrule import rrulestr

    cal = config.calendar()
    horizon = cal.local_date(until) + timedelta(days=20)
    out: set[tuple[int, str, int | None, str, datetime, datetime]] = set()
    subjects: list[tuple[str, ObligationView | TaskView]] = [
        (OBLIGATION, o) for o in plan.obligations
    ]
    subjects += [(TASK, t) for t in plan.tasks]
    for kind_of_subject, subject in subjects:
        rule = subject.rule or ReminderRule()
        when = time(
            config.reminder_hour if rule.hour is None else rule.hour,
            config.reminder_minute if rule.minute is None else rule.minute,
        )
        offsets = config.before_days if rule.before_days is None else rule.before_days
        due = subject.due_date
        candidates: list[tuple[int, str, datetime, datetime]] = []
        if due is not None:
            for n in set(offsets):
                nominal = cal.at(due - timedelta(days=n), when)
                candidates.append((n, f"before_{n}", nominal, cal.move_earlier(nominal, when)))
            nominal = cal.at(due, when)
            candidates.append((0, DUE_DAY, nominal, cal.move_earlier(nominal, when)))
            # Issue 14: every 2nd working day while within 14 days of the due date (the first
            # always), then every 7 days from the last of those; none sent after the last day.
            chase = config.chase_days
            if isinstance(subject, ObligationView) and subject.chase_days is not None:
                chase = subject.chase_days
            last = due + timedelta(days=chase)
            if isinstance(subject, ObligationView) and subject.series_next_due is not None:
                last = min(last, subject.series_next_due - timedelta(days=1))
            overdue_days: list[date] = []
            day, working = due + timedelta(days=1), 0
            while day <= horizon:
                fast = not overdue_days or day <= due + timedelta(days=config.overdue_fast_days)
                if not fast:
                    break
                if cal.is_working_day(day):
                    if working % config.overdue_every_working_days == 0:
                        overdue_days.append(day)
                    working += 1
                day += timedelta(days=1)
            slow = horizon + timedelta(days=1)
            if overdue_days:
                slow = overdue_days[-1] + timedelta(days=config.overdue_slow_every_days)
            while slow <= horizon:
                overdue_days.append(slow)
                slow += timedelta(days=config.overdue_slow_every_days)
            for day in overdue_days:
                nominal = cal.at(day, when)
                slot = cal.move_later(nominal, when)
                if cal.local_date(slot) <= last:
                    candidates.append((10**6, OVERDUE, nominal, slot))
        if isinstance(subject, TaskView) and subject.checkin_rrule is not None:
            start = subject.checkin_start or config.checkin_epoch
            rr = rrulestr(subject.checkin_rrule, dtstart=datetime.combine(start, when))
            for occ in rr.between(
                datetime.combine(start, time.min), datetime.combine(horizon, time.max), True
            ):
                nominal = occ.replace(tzinfo=HCM).astimezone(UTC)
                slot = cal.move_later(nominal, when)
                # Issue 14: no check-in is sent after the deadline.
                if due is None or cal.local_date(slot) <= due:
                    candidates.append((10**6 + 1, CHECKIN, nominal, slot))
        best: dict[datetime, tuple[int, str, datetime, datetime]] = {}
        for c in candidates:
            held = best.get(c[3])
            if held is None or (c[0], held[2]) < (held[0], c[2]):
                best[c[3]] = c
        for a in subject.assignees:
            person = plan.officials.get(a.official_id)
            if a.done or person is None or not person.active or not person.reachable:
                continue
            mine: set[datetime] = set()
            for rank, kind, nominal, slot in best.values():
                if a.restarted_at is not None and slot <= a.restarted_at:
                    continue
                if a.role == COORDINATE and rank >= 10**6:
                    continue
                if person.on_leave(cal.local_date(slot)):
                    continue
                mine.add(slot)
                if after < slot <= until:
                    out.add((person.id, kind_of_subject, subject.id, kind, slot, nominal))
            if a.assigned_at is None or a.restarted_at is not None:
                continue
            # The notice: the first instant after assigned_at, walking minute by minute through
            # the reminder times, that is a working slot at a day not on leave.
            hour = config.reminder_time
            day = cal.local_date(a.assigned_at)
            nominal = cal.at(day, hour)
            if cal.move_later(nominal, hour) <= a.assigned_at:
                nominal = cal.at(day + timedelta(days=1), hour)
            slot = cal.move_later(nominal, hour)
            while person.on_leave(cal.local_date(slot)):
                slot = cal.move_later(cal.at(cal.local_date(slot) + timedelta(days=1), hour), hour)
            if due is not None and cal.local_date(slot) > due:
                continue
            if after < slot <= until and slot not in mine:
                out.add((person.id, kind_of_subject, subject.id, ASSIGNED, slot, nominal))
        missing = [
            a
            for a in subject.assignees
            if not a.done
            and a.official_id in plan.officials
            and plan.officials[a.official_id].active
        ]
        if due is None or not missing:
            continue
        for kind, days, role in (
            (DIGEST_CLERK, config.clerk_digest_after_days, "clerk"),
            (DIGEST_LEADERS, config.leader_digest_after_days, "leader"),
        ):
            nominal = cal.at(due + timedelta(days=days), config.reminder_time)
            slot = cal.move_later(nominal, config.reminder_time)
            if not after < slot <= until:
                continue
            for person in plan.officials.values():
                usable = role in person.roles and person.active and person.reachable
                if usable and not person.on_leave(cal.local_date(slot)):
                    out.add((person.id, kind_of_subject, subject.id, kind, slot, nominal))
    return out


@PROPS
@given(plans(), instants, durations)
def test_property_matches_a_day_by_day_oracle(
    plan: PlanSnapshot, after: datetime, length: timedelta
) -> None:
    got = reminders_between(plan, CONFIG, *window(after, length))
    assert {
        (r.recipient_id, r.subject_type, r.subject_id, r.kind, r.slot_at, r.nominal_at) for r in got
    } == oracle(plan, CONFIG, *window(after, length))
