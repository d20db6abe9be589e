"""`python -m bot reminders preview`: the clerk checks the calendar without sending anything."""

from __future__ import annotations

from tests.cli import run_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.wording import vi


def line(when: str, name: str, what: str, *extra: str) -> str:
    """One line of the preview for the Quý I report."""
    text = vi("reminders.preview.line", when=when, name=name, code="CCHC-Q1-2024", what=what)
    return " ".join([text, *extra])


async def test_preview_prints_the_ba_bich_calendar(database_url: str) -> None:
    for args in (("db", "upgrade"), ("plan", "load", str(EXAMPLE_PLAN.relative_to(ROOT)))):
        code, _, err = await run_cli(database_url, *args)
        assert code == 0, err
    code, out, err = await run_cli(
        database_url, "reminders", "preview", "--from", "01/03/2024", "--to", "15/03/2024"
    )
    assert code == 0, err
    lines = out.splitlines()
    items = [text.split(" | ") for text in lines[1:] if " | " in text]
    messages = {(when, name) for when, name, *_ in items}
    assert lines[0] == vi("reminders.preview.header", messages=len(messages), count=len(items))
    assert (
        line(
            "01/03/2024 08:00",
            "Nguyễn Thị Hoa",
            vi("reminders.kind.before", due="10/03/2024", left=vi("reminders.left.days", days=9)),
            vi("reminders.preview.moved", nominal="03/03/2024 08:00"),
            vi("reminders.preview.templates", count=2),
        )
        in lines
    )
    # 10/03/2024 is a Sunday: the last reminder before the deadline comes on Friday.
    assert (
        line(
            "08/03/2024 08:00",
            "Nguyễn Thị Hoa",
            vi(
                "reminders.kind.due_day_early",
                due="10/03/2024",
                left=vi("reminders.left.days", days=2),
            ),
            vi("reminders.preview.moved", nominal="10/03/2024 08:00"),
        )
        in lines
    )
    assert (
        line(
            "11/03/2024 08:00",
            "Nguyễn Thị Hoa",
            vi("reminders.kind.overdue", due="10/03/2024", late=vi("reminders.late.days", days=1)),
        )
        in lines
    )
    digest_start = line(
        "11/03/2024 08:00",
        "Trần Văn Nhứt",
        vi("reminders.kind.digest_clerk", due="10/03/2024", missing=""),
    )
    (digest,) = [text for text in lines if text.startswith(digest_start)]
    assert vi("reminders.digest.on_leave", name="Lê Thị Hồng") in digest
    # The weekly digest of Monday 11/03 goes to the clerk in the same message as his digest.
    weekly = vi(
        "reminders.preview.line",
        when="11/03/2024 08:00",
        name="Trần Văn Nhứt",
        code="",
        what=vi("reminders.kind.weekly_digest"),
    )
    assert weekly in lines
    # The footer counts each person's messages: one per person and slot, however many items.
    footer = lines.index(vi("reminders.preview.per_person"))
    totals = dict(text.rsplit(": ", 1) for text in lines[footer + 1 :])
    assert int(totals["Trần Văn Nhứt"]) == len({w for w, n in messages if n == "Trần Văn Nhứt"})
    assert sum(map(int, totals.values())) == len(messages) < len(items)
    # Nobody hears anything on the weekend, and nothing was sent or written.
    assert not any(line.startswith(("02/03/2024", "03/03/2024", "09/03/2024")) for line in lines)


async def test_preview_refuses_bad_dates(database_url: str) -> None:
    code, _, err = await run_cli(database_url, "db", "upgrade")
    assert code == 0, err
    code, _, err = await run_cli(
        database_url, "reminders", "preview", "--from", "2024-03-01", "--to", "15/03/2024"
    )
    assert code == 1 and "dd/mm/yyyy" in err and "Traceback" not in err
