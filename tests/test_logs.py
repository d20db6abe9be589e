"""Logs (issue 15): one line per event, plain or JSON; the token never in them; APScheduler's
per-minute lines only with --verbose."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, configure_logging
from bot.settings import Settings, SettingsError

TOKEN = "123456:ABCDEF-secret-token"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave the root logger and APScheduler's as they were for the other tests."""
    root, scheduler = logging.getLogger(), logging.getLogger("apscheduler")
    levels = (root.level, scheduler.level)
    yield
    configure_logging(False, [])
    root.setLevel(levels[0])
    scheduler.setLevel(levels[1])


def test_json_lines_hold_one_event_each_with_its_traceback_and_no_token() -> None:
    stream = io.StringIO()
    configure_logging(False, [TOKEN], stream, json_lines=True)
    log = logging.getLogger("bot.test")

    log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        log.exception("polling failed")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert first["message"] == f"calling https://api.telegram.org/bot{REDACTED}/getMe"
    assert second["message"] == "polling failed"
    assert "RuntimeError: bad token ***" in second["exception"]
    assert TOKEN not in stream.getvalue()
    assert first["time"].endswith("+00:00")


def test_plain_lines_by_default() -> None:
    stream = io.StringIO()
    configure_logging(False, [TOKEN], stream)
    logging.getLogger("bot.test").info("sweep done for %s", TOKEN)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(f" INFO bot.test: sweep done for {REDACTED}")


@pytest.mark.parametrize("verbose", [False, True])
def test_apschedulers_per_tick_lines_only_when_verbose(verbose: bool) -> None:
    stream = io.StringIO()
    configure_logging(verbose, [], stream)
    executor = logging.getLogger("apscheduler.executors.default")
    executor.info('Running job "reminder-sweep" (scheduled at 2024-03-11 01:00:00+00:00)')
    executor.warning("Run time of job was missed by 0:00:05")
    lines = stream.getvalue().splitlines()
    assert len(lines) == (2 if verbose else 1)
    assert "missed" in lines[-1]


def test_log_format_is_plain_or_json() -> None:
    assert Settings.from_env({"LOG_FORMAT": "JSON"}, None).log_format == "json"
    assert Settings.from_env({}, None).log_format == "plain"
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"}, None)
