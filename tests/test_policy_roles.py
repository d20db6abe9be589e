"""Issue 14 in the pure policy: a task's lead and coordinators, and assignment notices."""

from __future__ import annotations

from datetime import timedelta

from db.kinds import ASSIGNED, CHECKIN, DIGEST_CLERK, DUE_DAY, OBLIGATION, OVERDUE, TASK
from handlers.reminder_preview import format_preview
from scheduler.policy import (
    COORDINATE,
    LEAD,
    AssigneeState,
    OfficialView,
    PolicyConfig,
    TaskView,
    preview,
    reminders_between,
)
from tests.test_policy import (
    CONFIG,
    HCM,
    HOA,
    NAMES,
    NHUT,
    PEOPLE,
    SON,
    THU,
    calendar_of,
    d,
    local,
    q1_report,
    shown,
    snapshot,
)


def task_2_8(*assignees: AssigneeState, **changes: object) -> TaskView:
    """A task due Tuesday 19/03/2024 with a check-in every Monday from 01/03."""
    fields: dict[str, object] = {
        "id": 8,
        "code": "2.8",
        "title": "Rà soát thủ tục hành chính",
        "due_date": d("19/03/2024"),
        "checkin_rrule": "FREQ=WEEKLY;BYDAY=MO",
        "checkin_start": d("01/03/2024"),
        "assignees": assignees,
    }
    fields.update(changes)
    return TaskView(**fields)  # type: ignore[arg-type]


# -- lead and coordinators -------------------------------------------------------------------------


def test_the_lead_gets_checkins_and_overdue_a_coordinator_only_the_deadline_reminders() -> None:
    plan = snapshot(tasks=[task_2_8(AssigneeState(HOA), AssigneeState(THU, role=COORDINATE))])
    got = preview(plan, CONFIG, d("01/03/2024"), d("30/04/2024"))
    lead = calendar_of(got, HOA)
    assert [k for _, k in lead].count(CHECKIN) == 2
    assert [k for _, k in lead].count(OVERDUE) == 7
    assert calendar_of(got, THU) == [
        ("Tue 12/03/2024 08:00", "before_7"),
        ("Fri 15/03/2024 08:00", "before_3"),
        ("Mon 18/03/2024 08:00", "before_1"),
        ("Tue 19/03/2024 08:00", DUE_DAY),
    ]
    coordinator = [r for r in got if r.recipient_id == THU]
    assert all(r.payload["role"] == COORDINATE for r in coordinator)
    assert all("role" not in r.payload for r in got if r.recipient_id == HOA)
    # The coordinator's first reminder is their first one, though the lead's came earlier.
    assert [r.first_for_subject for r in coordinator] == [True, False, False, False]
    # The digest still lists whoever is not done, coordinator included.
    (digest,) = [r for r in got if r.kind == DIGEST_CLERK]
    assert {m["official_id"] for m in digest.payload["missing"]} == {HOA, THU}


def test_a_done_task_reminds_nobody_and_a_coordinator_done_with_their_part_drops_out() -> None:
    done_task = task_2_8(
        AssigneeState(HOA, done=True), AssigneeState(THU, role=COORDINATE, done=True)
    )
    part_done = task_2_8(AssigneeState(HOA), AssigneeState(THU, role=COORDINATE, done=True))
    got = preview(snapshot(tasks=[done_task]), CONFIG, d("01/03/2024"), d("30/04/2024"))
    assert got == []
    got = preview(snapshot(tasks=[part_done]), CONFIG, d("01/03/2024"), d("30/04/2024"))
    assert {r.recipient_id for r in got if not r.is_digest} == {HOA}


def test_the_preview_marks_coordinators() -> None:
    plan = snapshot(tasks=[task_2_8(AssigneeState(HOA), AssigneeState(THU, role=COORDINATE))])
    got = preview(plan, CONFIG, d("12/03/2024"), d("12/03/2024"))
    text = format_preview(got, NAMES, HCM, "vi")
    assert (
        "12/03/2024 08:00 | Trần Thị Thu | 2.8 | Nhắc trước hạn 19/03/2024 (còn 7 ngày) (phối hợp)"
        in text
    )
    assert "Nguyễn Thị Hoa | 2.8 | Nhắc trước hạn 19/03/2024 (còn 7 ngày)\n" in text + "\n"


# -- assignment notices ------------------------------------------------------------------------

# A plan loaded on Friday 01/03/2024 at 10:00, after that day's reminder time.
LOADED = local("01/03/2024 10:00")


def test_a_new_assignee_gets_one_notice_at_the_next_working_slot() -> None:
    plan = snapshot(
        [q1_report(AssigneeState(HOA, assigned_at=LOADED))],
        [
            task_2_8(
                AssigneeState(SON, assigned_at=LOADED),
                AssigneeState(THU, role=COORDINATE),
                checkin_rrule=None,
            )
        ],
    )
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/12/2024"))
    notices = [r for r in got if r.kind == ASSIGNED]
    # Friday 10:00 is past the day's 08:00: the Saturday slot moves to Monday.
    assert [(r.recipient_id, r.subject_type, shown(r.slot_at)) for r in notices] == [
        (HOA, OBLIGATION, "Mon 04/03/2024 08:00"),
        (SON, TASK, "Mon 04/03/2024 08:00"),
    ]
    report, task = notices
    assert shown(report.nominal_at) == "Sat 02/03/2024 08:00"
    assert report.idempotency_key == "4:obligation:1:assigned:202403020100"
    assert report.payload == {
        "code": "CCHC-Q1-2024",
        "title": "Báo cáo CCHC Quý I năm 2024",
        "due_date": "2024-03-10",
        "window_start": "2023-12-15",
        "window_end": "2024-03-14",
    }
    assert task.payload["role"] == LEAD and task.due_date == d("19/03/2024")
    assert not report.first_for_subject
    # Its deadline reminders are untouched: the first one still carries the templates.
    (first,) = [r for r in got if r.recipient_id == HOA and r.first_for_subject]
    assert first.kind == "before_7" and first.payload["templates"]
    # The coordinator has no assigned_at (an older row): no notice.
    assert not [r for r in notices if r.recipient_id == THU]


def test_a_load_before_the_reminder_time_notifies_the_same_morning_and_once() -> None:
    early = local("04/03/2024 07:15")
    plan = snapshot([], [task_2_8(AssigneeState(HOA, assigned_at=early, role=COORDINATE))])
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024"))
    (notice,) = [r for r in got if r.kind == ASSIGNED]
    assert shown(notice.slot_at) == "Mon 04/03/2024 08:00"
    assert notice.payload["role"] == COORDINATE
    # Minute by minute, the same single notice under the same key.
    minute_by_minute = [
        r
        for m in range(60 * 4)
        for r in reminders_between(
            plan,
            CONFIG,
            early + timedelta(minutes=m),
            early + timedelta(minutes=m + 1),
        )
        if r.kind == ASSIGNED
    ]
    assert [r.idempotency_key for r in minute_by_minute] == [notice.idempotency_key]


def test_no_notice_for_what_is_done_past_due_or_to_people_away() -> None:
    people = dict(PEOPLE)
    people[THU] = OfficialView(THU, active=False)
    people[SON] = OfficialView(SON, reachable=False)
    late_load = local("11/03/2024 09:00")  # after the Sunday 10/03 deadline
    plan = snapshot(
        [
            q1_report(
                AssigneeState(HOA, assigned_at=LOADED, done=True),
                AssigneeState(THU, assigned_at=LOADED),
                AssigneeState(SON, assigned_at=LOADED),
                AssigneeState(NHUT, assigned_at=late_load),
            )
        ],
        people=people,
    )
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024"))
    assert [r for r in got if r.kind == ASSIGNED] == []


def test_a_task_without_deadline_gets_its_notice() -> None:
    plan = snapshot(
        tasks=[
            TaskView(9, "3.1", "Số hóa hồ sơ", assignees=(AssigneeState(HOA, assigned_at=LOADED),))
        ]
    )
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/12/2024"))
    assert [(r.kind, shown(r.slot_at), r.due_date) for r in got] == [
        (ASSIGNED, "Mon 04/03/2024 08:00", None)
    ]
    text = format_preview(got, NAMES, HCM, "vi")
    assert (
        "04/03/2024 08:00 | Nguyễn Thị Hoa | 3.1 | "
        "Thông báo được giao (chủ trì), Thực hiện thường xuyên" in text
    )


def test_on_leave_the_notice_waits_for_the_first_working_slot_after_it() -> None:
    people = dict(PEOPLE)
    people[HOA] = OfficialView(HOA, leaves=((d("04/03/2024"), d("05/03/2024")),))
    plan = snapshot([q1_report(AssigneeState(HOA, assigned_at=LOADED))], people=people)
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024"))
    (notice,) = [r for r in got if r.kind == ASSIGNED]
    assert shown(notice.slot_at) == "Wed 06/03/2024 08:00"
    # Same key as without the leave: the nominal slot is where it was first due.
    assert notice.idempotency_key == "4:obligation:1:assigned:202403020100"
    # A leave running past the deadline: no notice at all.
    people[HOA] = OfficialView(HOA, leaves=((d("04/03/2024"), d("11/03/2024")),))
    got = preview(plan, CONFIG, d("01/03/2024"), d("31/03/2024"))
    assert [r for r in got if r.kind == ASSIGNED] == []


def test_a_notice_meeting_a_reminder_of_the_same_subject_yields_to_it() -> None:
    # Loaded Sunday 03/03: the notice's slot is Monday 04/03 08:00, the Q1 report's before_7
    # (Sunday 03/03) pulled back to Friday 01/03 — no clash; a task due Monday 11/03 has its
    # before_7 on Monday 04/03 08:00: the reminder is kept, the notice dropped.
    sunday = local("03/03/2024 12:00")
    plan = snapshot(
        [q1_report(AssigneeState(HOA, assigned_at=sunday))],
        [task_2_8(AssigneeState(HOA, assigned_at=sunday), due_date=d("11/03/2024"))],
    )
    got = [r for r in preview(plan, CONFIG, d("04/03/2024"), d("04/03/2024"))]
    assert [(r.subject_type, r.kind) for r in got] == [(OBLIGATION, ASSIGNED), (TASK, "before_7")]


def test_a_config_with_another_reminder_time_puts_notices_there() -> None:
    config = PolicyConfig(reminder_hour=7, reminder_minute=30)
    plan = snapshot([q1_report(AssigneeState(HOA, assigned_at=LOADED))])
    (notice,) = [
        r for r in preview(plan, config, d("01/03/2024"), d("31/03/2024")) if r.kind == ASSIGNED
    ]
    assert shown(notice.slot_at) == "Mon 04/03/2024 07:30"
