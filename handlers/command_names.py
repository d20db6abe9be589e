"""The commands' names: the one table of what people type, in Vietnamese and English.

Every command has a Vietnamese name (shown in Vietnamese: help, usage lines, footers, the
Telegram menu) and an English one (shown in English mode); both are always understood, and so
are the older names kept as aliases. The router, the menu, the help texts' test and the README's
table all read this table. Names are matched accent- and case-insensitively ("/nộp" is /nop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.names import fold_name

# A typo is at most this far from a name (letters added, dropped, changed or swapped).
MAX_TYPO_DISTANCE = 2
# A bare word typed with arguments must look like a command, not a sentence ("Mới nộp rồi").
_COMMAND_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Command:
    """One command: `key` is what the router calls it and its English name; `vi` its
    Vietnamese name; `aliases` other names still understood; `menu` whether the Telegram menu
    lists it; `desk` whether only the office's clerk and the leaders may use it."""

    key: str
    vi: str
    aliases: tuple[str, ...] = ()
    menu: bool = False
    desk: bool = False

    @property
    def en(self) -> str:
        """The name shown in English."""
        return self.key

    @property
    def names(self) -> tuple[str, ...]:
        """Every name understood: Vietnamese, English, aliases."""
        return tuple(dict.fromkeys((self.vi, self.key, *self.aliases)))

    def shown(self, lang: str) -> str:
        """The name to show a person reading `lang`."""
        return self.en if lang == "en" else self.vi


COMMANDS: tuple[Command, ...] = (
    # What every official uses (the menu lists them, in this order).
    Command("tasks", "nhiemvu", menu=True),
    Command("report", "nop", ("nopbaocao",), menu=True),
    Command("status", "tiendo", ("capnhat",), menu=True),
    Command("extend", "giahan", menu=True),
    Command("leave", "nghiphep", menu=True),
    Command("help", "huongdan", menu=True),
    Command("cancel", "huy", menu=True),
    Command("channel", "kenh", menu=True),
    Command("lang", "ngonngu", ("language",), menu=True),
    # A newcomer's registration (Telegram's deep link sends it).
    Command("start", "start"),
    # The office's desk: the clerk and the leaders.
    Command("overdue", "quahan", desk=True),
    Command("summary", "tonghop", desk=True),
    Command("submissions", "danhsach", desk=True),
    Command("get", "laytep", desk=True),
    Command("accept", "tiepnhan", desk=True),
    Command("return", "tralai", desk=True),
    Command("remind", "nhac", desk=True),
    Command("invite", "moi", desk=True),
    Command("export", "xuat", desk=True),
    Command("compile", "baocao", desk=True),
)

_BY_NAME: dict[str, Command] = {name: c for c in COMMANDS for name in c.names}
_BY_KEY: dict[str, Command] = {c.key: c for c in COMMANDS}


def resolve(typed: str) -> Command | None:
    """The command a typed name stands for ("nộp", "NOP", "report"), or None."""
    return _BY_NAME.get(fold_name(typed).replace(" ", ""))


def command(key: str) -> Command:
    """The command the router calls `key` ("accept")."""
    return _BY_KEY[key]


def shown(key: str, lang: str) -> str:
    """The name of the command `key` as a person reading `lang` should type it."""
    return _BY_KEY[key].shown(lang)


def menu() -> tuple[Command, ...]:
    """The commands of the Telegram menu, in its order."""
    return tuple(c for c in COMMANDS if c.menu)


def suggestion(typed: str, *, desk: bool) -> str | None:
    """The name nearest to a mistyped command ("nhiemv" → "nhiemvu"), accents ignored; None
    when none is close. `desk` False leaves out the desk's commands."""
    folded = fold_name(typed).replace(" ", "")
    # A short word is close to too many names: one slip is allowed below five letters.
    limit = min(MAX_TYPO_DISTANCE, max(1, (len(folded) - 1) // 2))
    best: tuple[int, str] | None = None
    for candidate in COMMANDS:
        if candidate.desk and not desk:
            continue
        for name in candidate.names:
            distance = edit_distance(folded, name)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, name)
    return best[1] if best else None


def bare_command(text: str) -> tuple[Command, str] | None:
    """A command typed without its slash ("nhiemvu", "nộp", "tiendo 2.4"): the command and
    its arguments; None when the text is not one.

    The word alone may carry accents; followed by arguments it must be typed as a command
    name is (plain letters), so that a sentence starting with "Mới" or "Nộp" stays a sentence.
    """
    head, _, args = text.strip().partition(" ")
    # "/nộp" reaches us as text: Telegram makes a command of Latin letters only.
    head = head.removeprefix("/")
    found = resolve(head)
    if found is None or found.key == "start":
        return None
    if args.strip() and not _COMMAND_WORD.fullmatch(head.lower()):
        return None
    return found, args.strip()


def edit_distance(a: str, b: str) -> int:
    """Letters inserted, deleted, substituted or swapped to turn `a` into `b` (optimal string
    alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
