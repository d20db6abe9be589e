"""A submission's figures: read from its appendix and confirmed with one tap, or asked in chat
one indicator at a time, summed up and confirmed; stored with that submission (a later version
is asked again).

The chat's state (`AWAIT_FIGURE`) holds the submission, the codes still to ask, how far it got
and the figures given so far; a wrong answer changes none of it. /cancel leaves the submission
without figures. Ratios are never asked: the summary shows the official's own from their parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from db import audit, conversations, submissions
from db.figures import (
    COUNT,
    RATIO,
    SUM,
    TEXT,
    Figure,
    Indicator,
    canonical,
    indicators_of,
    record_figures,
)
from db.files import FileStore
from db.models import ConversationState, Obligation, StoredFile, Submission
from db.names import fold_name
from handlers import appendix, callbacks
from handlers.catalog import LANGUAGES, t
from handlers.free_text import FIGURE_TEXT, echo, too_long
from handlers.indicators import NotANumber, format_number, parse_number, parse_yes_no, ratio_of
from handlers.presenting import h
from handlers.status import refusal
from handlers.turn import Turn
from handlers.types import Choice, Reply

AWAIT_FIGURE = "await_figure"
# The choices' actions (callbacks.FiguresTap) and the figures' sources (record_figures).
CHAT, APPENDIX, CONFIRM = "chat", "appendix", "confirm"
# Words beyond this are a document, not an answer: the report's file is the place for them.
# A receipt names this many unreadable cells, then says how many more.
MAX_PROBLEMS = 5


def asked_indicators(obligation: Obligation) -> list[Indicator]:
    """The indicators a submitter gives (every one but ratios), in the plan's order."""
    return [i for i in indicators_of(obligation) if i.asked]


# ------------------------------------------------------------------ after a submission


@dataclass(frozen=True)
class Offer:
    """What follows a receipt: the figures read from the appendix (awaiting one tap), or the
    appendix's problems and the figures to ask in chat."""

    lines: tuple[str, ...]
    read: bool
    count: int


async def offer(
    obligation: Obligation,
    files: Sequence[StoredFile],
    store: FileStore | None,
    lang: str,
) -> Offer | None:
    """How the submission's figures are to be given; None when the report asks none."""
    asked = asked_indicators(obligation)
    if not asked:
        return None
    reading = await appendix.read_submitted(files, store, asked) if store is not None else None
    if reading is not None and reading.ok:
        shown = figure_lines(indicators_of(obligation), reading.figures, lang, only_given=True)
        lines = (t("figures.appendix_read", lang, file=h(reading.file_name), lines=shown),)
        return Offer(lines, read=True, count=len(asked))
    if reading is None:
        return Offer((), read=False, count=len(asked))
    return Offer((problems_text(reading, lang),), read=False, count=len(asked))


def problems_text(reading: appendix.AppendixReading, lang: str) -> str:
    """Why the appendix was not read, a line per cell (the first few)."""
    problems = [appendix.problem_text(p, lang) for p in reading.problems[:MAX_PROBLEMS]]
    if len(reading.problems) > MAX_PROBLEMS:
        problems.append(
            t("figures.more_problems", lang, count=len(reading.problems) - MAX_PROBLEMS)
        )
    return t(
        "figures.appendix_problems",
        lang,
        file=h(reading.file_name),
        lines="\n".join(f"• {p}" for p in problems),
    )


def appendix_choices(submission_id: int, lang: str) -> list[list[Choice]]:
    """ "Xác nhận" / "Nhập trong chat" under figures read from the appendix."""
    return [
        [
            Choice(
                t("figures.button.confirm", lang), callbacks.figures_data(APPENDIX, submission_id)
            ),
            Choice(t("figures.button.in_chat", lang), callbacks.figures_data(CHAT, submission_id)),
        ]
    ]


def enter_choices(submission_id: int, lang: str) -> list[list[Choice]]:
    """ "Nhập số liệu": start the questions in chat."""
    return [[Choice(t("figures.button.enter", lang), callbacks.figures_data(CHAT, submission_id))]]


async def after_receipt(
    turn: Turn, obligation: Obligation, submission: Submission, found: Offer | None, receipt: str
) -> list[Reply]:
    """The chat's receipt, then a message for the figures: those read from the appendix to
    confirm, or why it was not read and the first question."""
    # The receipt stays a receipt (a tap may edit it in place); the figures follow it.
    if found is None:
        return [Reply(receipt)]
    if found.read:
        text = "\n".join([*found.lines, t("figures.appendix_confirm", turn.lang)])
        return [Reply(receipt), Reply(text, appendix_choices(submission.id, turn.lang))]
    codes = [i.code for i in asked_indicators(obligation)]
    question = await start_questions(turn, obligation, submission, codes, {}, CHAT)
    return [Reply(receipt), Reply("\n".join([*found.lines, question.text]))]


# ------------------------------------------------------------------ taps


async def tapped(turn: Turn, action: str, submission_id: int, store: FileStore) -> list[Reply]:
    """A figures choice: confirm the appendix's, give them in chat, confirm the summary."""
    found = await _own_latest(turn, submission_id)
    if isinstance(found, Reply):
        return [found]
    submission, obligation = found
    if action == CHAT:
        codes = [i.code for i in asked_indicators(obligation)]
        question = await start_questions(turn, obligation, submission, codes, {}, CHAT)
        return [Reply(question.text, notice=t("figures.button.in_chat", turn.lang))]
    if action == APPENDIX:
        return await _appendix_confirmed(turn, obligation, submission, store)
    return [await _summary_confirmed(turn, obligation, submission)]


async def _own_latest(turn: Turn, submission_id: int) -> tuple[Submission, Obligation] | Reply:
    submission = await turn.session.get(Submission, submission_id)
    if (
        submission is None
        or submission.official_id != turn.official.id
        or submission.obligation_id is None
    ):
        return refusal(turn, "refuse.bad_choice")
    obligation = await turn.session.get(Obligation, submission.obligation_id)
    if obligation is None or not asked_indicators(obligation):
        return refusal(turn, "refuse.bad_choice")
    newest = await submissions.next_version(
        turn.session, turn.official.id, obligation_id=obligation.id, task_id=None
    )
    if submission.version != newest - 1:
        # Figures go with the version the clerk will read: the latest.
        text = t("figures.newer_version", turn.lang)
        return Reply(text, notice=text)
    return submission, obligation


async def _appendix_confirmed(
    turn: Turn, obligation: Obligation, submission: Submission, store: FileStore
) -> list[Reply]:
    asked = asked_indicators(obligation)
    files = list(
        await turn.session.scalars(
            select(StoredFile)
            .where(StoredFile.submission_id == submission.id)
            .order_by(StoredFile.id)
        )
    )
    reading = await appendix.read_submitted(files, store, asked)
    codes = [i.code for i in asked]
    if reading is None or not reading.ok:
        # The file changed on disk or the plan's cells did: ask instead, saying why.
        why = problems_text(reading, turn.lang) if reading is not None else ""
        question = await start_questions(turn, obligation, submission, codes, {}, CHAT)
        return [Reply("\n".join(filter(None, [why, question.text])))]
    await _record(turn, obligation, submission, reading.figures, APPENDIX)
    rest = [i.code for i in asked if not i.cell]
    if not rest:
        await _stop_asking(turn, submission.id)
        # A new message: on a web upload's receipt, editing would replace the receipt itself.
        return [_saved(turn, obligation, submission, reading.figures, edit=False)]
    # The words the appendix has no cell for are asked in chat; the numbers are already kept.
    given = {code: _stored(figure) for code, figure in reading.figures.items()}
    question = await start_questions(turn, obligation, submission, rest, given, APPENDIX)
    saved = t("figures.appendix_saved_more", turn.lang, count=len(rest))
    return [Reply(f"{saved}\n{question.text}", notice=t("figures.saved_notice", turn.lang))]


async def _stop_asking(turn: Turn, submission_id: int) -> None:
    # Questions about these figures are moot once they are recorded; any other flow stays.
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if (
        state is not None
        and state.kind == AWAIT_FIGURE
        and state.data["submission_id"] == submission_id
    ):
        await conversations.finish(turn.session, turn.identity.id)


async def _summary_confirmed(turn: Turn, obligation: Obligation, submission: Submission) -> Reply:
    assert turn.identity is not None
    state = await conversations.current(turn.session, turn.identity.id, turn.now)
    if (
        state is None
        or state.kind != AWAIT_FIGURE
        or state.data["submission_id"] != submission.id
        or state.data["index"] < len(state.data["codes"])
    ):
        text = t("figures.expired", turn.lang)
        return Reply(text, enter_choices(submission.id, turn.lang), notice=text)
    figures = _given(state.data)
    await _record(turn, obligation, submission, figures, str(state.data["source"]))
    await conversations.finish(turn.session, turn.identity.id)
    return _saved(turn, obligation, submission, figures, edit=True)


async def _record(
    turn: Turn,
    obligation: Obligation,
    submission: Submission,
    figures: Mapping[str, Figure],
    source: str,
) -> None:
    await record_figures(turn.session, submission.id, figures, source, turn.now)
    audit.record(
        turn.session,
        at=turn.now,
        actor=turn.actor,
        action="submission.figures",
        unit_id=obligation.unit_id,
        official=turn.official,
        target=f"obligation:{obligation.code}",
        details={
            "submission_id": submission.id,
            "source": source,
            "figures": {code: _stored(f) for code, f in figures.items()},
        },
    )


def _saved(
    turn: Turn,
    obligation: Obligation,
    submission: Submission,
    figures: Mapping[str, Figure],
    *,
    edit: bool,
) -> Reply:
    lines = figure_lines(indicators_of(obligation), figures, turn.lang)
    text = t(
        "figures.saved",
        turn.lang,
        title=h(obligation.title),
        version=submission.version,
        lines=lines,
    )
    return Reply(text, edit=edit, notice=t("figures.saved_notice", turn.lang))


# ------------------------------------------------------------------ questions


async def start_questions(
    turn: Turn,
    obligation: Obligation,
    submission: Submission,
    codes: Sequence[str],
    given: dict[str, dict[str, str]],
    source: str,
) -> Reply:
    """Begin asking `codes` one at a time; the first question."""
    assert turn.identity is not None
    data = {
        "submission_id": submission.id,
        "codes": list(codes),
        "index": 0,
        "given": given,
        "source": source,
    }
    await conversations.begin(turn.session, turn.identity.id, AWAIT_FIGURE, data, turn.now)
    intro = t("figures.intro", turn.lang, title=h(obligation.title), count=len(codes))
    return Reply(f"{intro}\n{_question(obligation, data, turn.lang)}")


def is_asking(state: ConversationState | None) -> bool:
    """Whether the chat's next words are a figure (not a numbered choice)."""
    return (
        state is not None
        and state.kind == AWAIT_FIGURE
        and state.data["index"] < len(state.data["codes"])
    )


async def answered(turn: Turn, state: ConversationState, text: str) -> Reply:
    """A figure typed: the next question, or the summary after the last; a wrong answer
    leaves everything as it was and says what is accepted."""
    data = dict(state.data)
    submission = await turn.session.get(Submission, data["submission_id"])
    obligation = (
        await turn.session.get(Obligation, submission.obligation_id)
        if submission is not None and submission.obligation_id is not None
        else None
    )
    assert turn.identity is not None
    if submission is None or obligation is None:
        await conversations.finish(turn.session, turn.identity.id)
        return Reply(t("figures.expired", turn.lang))
    if not is_asking(state):
        again = summary(obligation, submission, data, turn.lang)
        return Reply(f"{t('figures.use_choices', turn.lang)}\n{again.text}", again.choices)
    indicator = _indicators(obligation).get(data["codes"][data["index"]])
    if indicator is None:
        # The plan dropped this indicator meanwhile: nothing to ask.
        value: dict[str, str] | str | None = None
    else:
        value = _parse(indicator, text, turn.lang)
    if isinstance(value, str):
        return Reply(f"{value}\n{_question(obligation, data, turn.lang)}")
    given = dict(data["given"])
    if indicator is not None:
        given.pop(indicator.code, None)
        if value is not None:
            given[indicator.code] = value
    data = {**data, "given": given, "index": data["index"] + 1}
    await conversations.begin(turn.session, turn.identity.id, AWAIT_FIGURE, data, turn.now)
    if data["index"] < len(data["codes"]):
        return Reply(_question(obligation, data, turn.lang))
    return summary(obligation, submission, data, turn.lang)


def _parse(indicator: Indicator, text: str, lang: str) -> dict[str, str] | str | None:
    """The stored form of an answer, None for a skipped text, or the reason it is refused."""
    words = text.strip()
    if indicator.combine == TEXT:
        if _is_skip(words):
            return None
        if refusal := too_long(words, FIGURE_TEXT, lang):
            return refusal
        return {"text": words}
    try:
        if indicator.combine == COUNT:
            return {"number": "1" if parse_yes_no(words) else "0"}
        return {"number": canonical(parse_number(words))}
    except NotANumber:
        key = "figures.bad_yes_no" if indicator.combine == COUNT else "figures.bad_number"
        return t(key, lang, text=h(echo(words, 40)))


def _is_skip(words: str) -> bool:
    folded = fold_name(words)
    return any(folded == fold_name(t("figures.skip_word", lang)) for lang in LANGUAGES)


def _indicators(obligation: Obligation) -> dict[str, Indicator]:
    return {i.code: i for i in asked_indicators(obligation)}


def _question(obligation: Obligation, data: Mapping[str, Any], lang: str) -> str:
    codes = data["codes"]
    index = data["index"]
    indicator = _indicators(obligation).get(codes[index])
    label = h(indicator.label) if indicator else h(codes[index])
    combine = indicator.combine if indicator else SUM
    unit = t("figures.unit", lang, unit=h(indicator.unit)) if indicator and indicator.unit else ""
    return t(
        "figures.ask",
        lang,
        index=index + 1,
        total=len(codes),
        label=label,
        unit=unit,
        hint=t(f"figures.hint.{combine}", lang),
    )


def summary(
    obligation: Obligation, submission: Submission, data: Mapping[str, Any], lang: str
) -> Reply:
    """Every figure given, the official's own ratios, and "Xác nhận" / "Nhập lại"."""
    figures = _given(data)
    indicators = indicators_of(obligation)
    text = t(
        "figures.summary",
        lang,
        title=h(obligation.title),
        version=submission.version,
        lines=figure_lines(indicators, figures, lang),
    )
    warnings = over_total(indicators, figures, lang)
    if warnings:
        text = "\n".join([text, *warnings])
    choices = [
        [
            Choice(
                t("figures.button.confirm", lang), callbacks.figures_data(CONFIRM, submission.id)
            ),
            Choice(t("figures.button.again", lang), callbacks.figures_data(CHAT, submission.id)),
        ]
    ]
    return Reply(f"{text}\n{t('figures.summary_confirm', lang)}", choices)


def cancelled(state: ConversationState, lang: str) -> Reply:
    """/cancel while giving figures: the report stays handed in, without figures."""
    return Reply(t("figures.cancelled", lang), enter_choices(state.data["submission_id"], lang))


# ------------------------------------------------------------------ wording


def figure_lines(
    indicators: Sequence[Indicator],
    figures: Mapping[str, Figure],
    lang: str,
    *,
    only_given: bool = False,
) -> str:
    """A line per indicator: "• Hồ sơ TTHC tiếp nhận trực tuyến: 162 hồ sơ", ratios "43,1%";
    a text not given reads "(bỏ qua)" unless `only_given`."""
    lines = []
    for indicator in indicators:
        value = _value(indicator, figures, lang)
        if value is None and (only_given or indicator.combine != TEXT):
            continue
        shown = value if value is not None else t("figures.skipped", lang)
        lines.append(t("figures.line", lang, label=h(indicator.label), value=shown))
    return "\n".join(lines)


def _value(indicator: Indicator, figures: Mapping[str, Figure], lang: str) -> str | None:
    if indicator.combine == RATIO:
        return ratio_of(indicator, figures, lang)
    figure = figures.get(indicator.code)
    if figure is None:
        return None
    if indicator.combine == TEXT:
        return h(figure.text) if figure.text else None
    if figure.number is None:
        return None
    if indicator.combine == COUNT:
        return t("figures.yes" if figure.number else "figures.no", lang)
    number = format_number(figure.number, lang)
    return t("figures.amount", lang, number=number, unit=h(indicator.unit)).strip()


def over_total(
    indicators: Sequence[Indicator], figures: Mapping[str, Figure], lang: str
) -> list[str]:
    """A hint for each ratio whose part is larger than its whole (162 of 16, a typo?)."""
    warnings = []
    for indicator in indicators:
        if indicator.combine != RATIO:
            continue
        assert indicator.numerator is not None and indicator.denominator is not None
        top, bottom = figures.get(indicator.numerator), figures.get(indicator.denominator)
        if top is None or bottom is None or top.number is None or bottom.number is None:
            continue
        if top.number > bottom.number:
            warnings.append(
                t(
                    "figures.over_total",
                    lang,
                    label=h(indicator.label),
                    part=format_number(top.number, lang),
                    whole=format_number(bottom.number, lang),
                )
            )
    return warnings


def _given(data: Mapping[str, Any]) -> dict[str, Figure]:
    figures = {}
    for code, value in dict(data["given"]).items():
        number = value.get("number")
        figures[code] = Figure(Decimal(number) if number is not None else None, value.get("text"))
    return figures


def _stored(figure: Figure) -> dict[str, str]:
    if figure.number is not None:
        return {"number": canonical(figure.number)}
    return {"text": figure.text or ""}
