"""Where the demo's lines come from: a script file, a list, or a keyboard read in a thread."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path

from bot.command_error import CommandError
from handlers.catalog import t

# Asked with the prompt to show; None at the end of input.
ReadLine = Callable[[str], Awaitable[str | None]]


class ThreadReader:
    """Reads lines in a daemon thread, so that Ctrl-C never waits for a blocked read."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self._read = read
        self._loop = asyncio.get_running_loop()
        self._requests: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        threading.Thread(target=self._serve, name="demo-input", daemon=True).start()

    async def __call__(self, prompt: str) -> str | None:
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._requests.put((prompt, future))
        return await future

    def _serve(self) -> None:
        while True:
            prompt, future = self._requests.get()
            try:
                line = self._read(prompt)
            except (OSError, ValueError, UnicodeDecodeError):
                line = None
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
                self._loop.call_soon_threadsafe(_settle, future, line)


def _settle(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def keyboard(prompt: str) -> str | None:
    """A line typed at the terminal after `prompt`; None at end of input (Ctrl-D)."""
    try:
        return input(prompt)
    except EOFError:
        return None


def from_lines(lines: Sequence[str]) -> ReadLine:
    """The lines one by one, then None."""
    remaining: Iterator[str] = iter(lines)

    async def next_line(prompt: str) -> str | None:
        return next(remaining, None)

    return next_line


def read_script(script: Path, lang: str | None) -> tuple[list[str], list[Path]]:
    """The script's lines, and its folder: `/send` also looks for files there."""
    try:
        lines = script.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(t("demo.no_script", lang, file=str(script))) from exc
    return lines, [script.resolve().parent]


# "#en …": the English of the narration block just above it (a script's "# …" lines).
_ENGLISH = "#en"


def narrated(lines: Sequence[str], lang: str) -> list[str]:
    """A script's lines with its narration in `lang`: in English each "#en …" block replaces
    the "# …" block just above it; in Vietnamese the "#en" lines are left out."""
    out: list[str] = []
    block_start: int | None = None  # where the last Vietnamese narration block began
    translated = False
    for line in lines:
        stripped = line.strip()
        if stripped == _ENGLISH or stripped.startswith(_ENGLISH + " "):
            if lang != "en":
                continue
            if block_start is not None and not translated:
                del out[block_start:]
                translated = True
            out.append("#" + stripped[len(_ENGLISH) :])
            continue
        if stripped.startswith("#") and not stripped.startswith("##"):
            if block_start is None or translated:
                block_start, translated = len(out), False
        else:
            block_start, translated = None, False
        out.append(line)
    return out
