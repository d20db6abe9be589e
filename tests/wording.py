"""What the bot should have said, built from the message catalog.

Tests compare replies with `vi(key, **values)` rather than with literal sentences: they still
check that the right message went out with the right values (names, dates, counts), but a
rewording in handlers/locales/*.yaml does not break them. Values stay literal in the tests.
"""

from __future__ import annotations

import re

from handlers.catalog import t


def vi(key: str, /, **params: object) -> str:
    """The Vietnamese message `key` filled with `params`."""
    return t(key, "vi", **params)


def en(key: str, /, **params: object) -> str:
    """The English message `key` filled with `params`."""
    return t(key, "en", **params)


def due_part(due: str, when: str) -> str:
    """ "Hạn 10/03/2024, trễ 2 ngày": a deadline and how far it is, as task lines show it."""
    return vi("tasks.due_part", due=due, when=when)


def days_left(days: int) -> str:
    return vi("when.left", days=days)


def days_late(days: int) -> str:
    return vi("when.late", days=days)


def state(value: str) -> str:
    """A task state's label: state("in_progress") is "Đang thực hiện"."""
    return vi(f"state.{value}")


def pattern(key: str, /, **params: object) -> str:
    """A regular expression for the Vietnamese message `key`: the given `params` must appear
    as they are, every other placeholder is captured as a named group (e.g. a random code)."""
    filled: dict[str, object] = dict(params)
    while True:
        try:
            text = t(key, "vi", **filled)
            break
        except KeyError as missing:
            name = str(missing.args[0])
            filled[name] = f"\x00{name}\x00"
    captured: set[str] = set()
    parts = text.split("\x00")
    regex = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex.append(re.escape(part))
        elif part in captured:
            regex.append(f"(?P={part})")
        else:
            captured.add(part)
            regex.append(f"(?P<{part}>.*?)")
    return "".join(regex)


# How the clerk's desk lays out its lines (the separators are code, the words catalog).


def overdue_person(name: str, department: str, *facts: str, role: str = "") -> str:
    """One person of an overdue block: name (department) [· role], then their facts."""
    person = vi(
        "clerk.overdue.person",
        name=name,
        department=f" ({department})",
        role=f" · {vi(f'role.{role}')}" if role else "",
    )
    return f"{person}\n  {' · '.join(facts)}"


def summary_line(key: str, count: int, total: int, rate: str) -> str:
    """ "Nộp đúng hạn: 4/10, đạt 40,0%": `rate` is the words after the share."""
    return vi("clerk.summary.line", label=vi(key), share=f"{count}/{total}", rate=rate)


def summary_person(name: str, *facts: str) -> str:
    return vi("clerk.summary.person", name=name, facts=f" — {', '.join(facts)}" if facts else "")


# The office's name in the bundled Ba Bích plan (examples/ba-bich-2024.yaml, unit.office_name).
BA_BICH_OFFICE = "Văn phòng - Thống kê"
