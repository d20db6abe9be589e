"""A tap's reply that Telegram will not take as sent (issue 15), against the fake Bot API.

The answer is stored before the reply goes out: a tapped message that cannot be edited gets
the reply as a new message, and a reply that fails is followed by a short true word, never
by "nothing was recorded".
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.reply_delivery import deliver_handled
from db.models import StatusUpdate, TaskState
from handlers.types import Reply
from scheduler.delivery import DeliveryError
from tests import test_telegram_e2e
from tests.test_telegram_e2e import AN, Bench
from tests.wording import en, state, vi

# The real bot against the fake Bot API, as in test_telegram_e2e.
bench = test_telegram_e2e.bench

RECORDED = vi("status.recorded", state=state("in_progress"), time="08/03/2024 09:00")


async def answers(bench: Bench) -> list[TaskState]:
    async with bench.sessionmaker() as session:
        return list(await session.scalars(select(StatusUpdate.state).order_by(StatusUpdate.id)))


@pytest.mark.parametrize(
    "refusal", ["Bad Request: message can't be edited", "Bad Request: message to edit not found"]
)
async def test_a_tapped_message_that_cannot_be_edited_gets_a_new_message(
    bench: Bench, refusal: str
) -> None:
    await bench.register(bench.commune.an, AN)
    prompt = await bench.say(AN, "/status", "2.4")
    bench.server.fail_next("editMessageText", 400, description=refusal)
    update = bench.server.user_presses(AN, prompt.message_id, vi("button.in_progress"))
    answer = await bench.server.wait_for_answer(update, timeout=10)
    assert answer.text == vi("status.recorded_notice", state=state("in_progress"))
    reply = await bench.server.wait_for_message(AN, after=prompt.message_id, timeout=10)
    assert reply.text is not None and reply.text.endswith(RECORDED)
    assert reply.buttons  # the new message carries the prompt's buttons
    assert bench.server.message(AN, prompt.message_id).text == prompt.text
    assert await answers(bench) == [TaskState.IN_PROGRESS]
    texts = [m.text for m in bench.server.sent_messages(AN)]
    assert vi("error.generic") not in texts and vi("error.unknown") not in texts


async def test_a_reply_that_fails_after_the_answer_is_stored_does_not_deny_it(
    bench: Bench,
) -> None:
    await bench.register(bench.commune.an, AN)
    prompt = await bench.say(AN, "/status", "2.4")
    # "Blocked" is recorded, the prompt edited, then the question for the reason fails.
    bench.server.fail_next("sendMessage", 400, description="Bad Request: can't parse entities")
    update = bench.server.user_presses(AN, prompt.message_id, vi("button.blocked"))
    await bench.server.wait_for_answer(update, timeout=10)
    short = await bench.server.wait_for_message(AN, after=prompt.message_id, timeout=10)
    assert short.text == vi("reply.not_delivered")
    assert await answers(bench) == [TaskState.BLOCKED]
    texts = [m.text for m in bench.server.sent_messages(AN)]
    assert vi("error.generic") not in texts and vi("error.unknown") not in texts


async def test_an_edit_that_fails_is_followed_by_the_short_reply(bench: Bench) -> None:
    await bench.register(bench.commune.an, AN)
    prompt = await bench.say(AN, "/status", "2.4")
    bench.server.fail_next("editMessageText", 400, description="Bad Request: can't parse entities")
    update = bench.server.user_presses(AN, prompt.message_id, vi("button.done"))
    await bench.server.wait_for_answer(update, timeout=10)
    short = await bench.server.wait_for_message(AN, after=prompt.message_id, timeout=10)
    assert short.text == vi("reply.not_delivered")
    assert await answers(bench) == [TaskState.DONE]


class FailingSend:
    """A channel's send that fails with `errors` in turn, then records what it sends."""

    def __init__(self, *errors: DeliveryError) -> None:
        self.errors = list(errors)
        self.sent: list[str] = []

    async def __call__(self, replies: Sequence[Reply]) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.extend(r.text for r in replies)


@pytest.mark.parametrize(
    ("replies", "short"),
    [
        ([Reply("✅ Đã ghi nhận <b>Hoàn thành</b>", edit=True)], "reply.not_delivered"),
        # Rolled back: the conversation's own apology is true, and is what gets through.
        ([Reply(vi("error.generic"))], "error.generic"),
        ([Reply(en("error.generic"))], "error.generic"),
    ],
)
async def test_the_short_reply_says_what_is_true(replies: list[Reply], short: str) -> None:
    send = FailingSend(DeliveryError("BadRequest: can't parse entities", permanent=True))
    await deliver_handled(send, replies, None)
    assert send.sent == [vi(short)]


@pytest.mark.parametrize(
    "error",
    [
        DeliveryError("Forbidden: bot was blocked by the user", unreachable=True),
        DeliveryError("Too Many Requests", retry_after=30),
    ],
)
async def test_no_short_reply_to_a_blocked_chat_or_under_flood_control(
    error: DeliveryError, caplog: pytest.LogCaptureFixture
) -> None:
    send = FailingSend(error)
    await deliver_handled(send, [Reply("x")], None)
    assert send.sent == []
    assert [r.levelname for r in caplog.records if r.name == "bot.reply_delivery"] == ["WARNING"]


async def test_a_short_reply_that_fails_too_is_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send = FailingSend(DeliveryError("502"), DeliveryError("502 again"))
    await deliver_handled(send, [Reply("x")], "en")
    assert send.sent == []
    (line,) = [r for r in caplog.records if r.name == "bot.reply_delivery"]
    assert line.levelname == "WARNING" and "502 again" in line.getMessage()
