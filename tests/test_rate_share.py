"""Several processes sending as one bot: each its share of the overall rate, and the running
clock of `--at` for the long-running commands (the province benchmark starts them at 08:00)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.cli import _clock_for, _run, build_parser
from bot.command_error import CommandError
from bot.settings import Settings
from bot.telegram_channel import telegram_pacer
from db.clock import FixedClock, RunningClock


def test_a_share_divides_the_overall_rate_but_not_a_chats() -> None:
    # The outbox's claims give one chat's reminders to one process at a time, so each keeps
    # Telegram's whole per-chat and per-group limits; only the 30 a second is split.
    limits = telegram_pacer(replace(Settings(), rate_share=0.5)).limits

    assert limits.global_per_second == pytest.approx(15.0)
    assert limits.per_chat_per_second == pytest.approx(1.0)
    assert limits.group_per_minute == pytest.approx(20.0)


def test_a_test_servers_scale_multiplies_every_limit_after_the_share() -> None:
    settings = replace(Settings(), rate_share=0.5, telegram_rate_scale=10.0)

    limits = telegram_pacer(settings).limits

    assert limits.global_per_second == pytest.approx(150.0)
    assert limits.per_chat_per_second == pytest.approx(10.0)


@pytest.mark.parametrize(
    "command", [["run", "--rate", "0.5"], ["reminders", "worker", "--rate", "0.5"]]
)
def test_run_and_the_worker_take_a_share_and_a_running_clock(command: list[str]) -> None:
    args = build_parser().parse_args([*command, "--at", "08/03/2024 08:00"])

    clock = _clock_for(args, Settings())

    assert args.rate == 0.5
    assert isinstance(clock, RunningClock)
    assert clock.now() >= datetime(2024, 3, 8, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    assert clock.now() < datetime(2024, 3, 8, 1, 1, tzinfo=UTC)


def test_a_one_shot_command_looks_at_the_moment_given() -> None:
    args = build_parser().parse_args(["overdue", "--at", "08/03/2024 08:00"])

    clock = _clock_for(args, Settings())

    assert isinstance(clock, FixedClock)
    assert clock.now() == datetime(2024, 3, 8, 1, 0, tzinfo=UTC)


def test_a_running_clock_runs_from_where_it_was_put() -> None:
    start = datetime(2024, 3, 8, 1, 0, tzinfo=UTC)
    clock = RunningClock(start)

    first = clock.now()
    time.sleep(0.02)
    second = clock.now()

    assert start <= first < second
    assert (second - start).total_seconds() < 5
    with pytest.raises(ValueError):
        RunningClock(datetime(2024, 3, 8, 8, 0))


@pytest.mark.parametrize("rate", ["0", "-1"])
async def test_run_refuses_a_share_that_is_not_positive(rate: str) -> None:
    args = build_parser().parse_args(["run", "--rate", rate])

    with pytest.raises(CommandError, match="--rate"):
        await _run(Settings(telegram_token="123:abc"), args, FixedClock(datetime.now(UTC)))
