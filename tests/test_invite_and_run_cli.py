"""`python -m bot invite` and `python -m bot run` as separate processes."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from db.invites import hash_code
from db.models import Invite, Reminder, SweepMark
from db.session import make_engine, make_sessionmaker
from tests.cli import run_cli, start_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.databases import DatabaseTemplates, Template, scratch_database
from tests.fakebotapi import FakeBotApi
from tests.local_server import free_port
from tests.waiting import wait_until
from tests.wording import pattern, vi

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]{1,32})")
# How long after its first answer a bot with reminders has swept: the bot without them is
# watched this long for a sweep that must not come.
SWEEP_WINDOW = 0.5


def invitation(out: str, name: str) -> tuple[str, str]:
    """What `python -m bot invite` printed for `name`: its code, and the lines after the first."""
    created = re.match(pattern("cli.invite.created", name=name) + "\n", out)
    assert created is not None, out
    return created["code"], out[created.end() :]


async def sweep_marks(database_url: str) -> list[SweepMark]:
    """The unit sweep marks: a sweep leaves one, even when it finds nothing to queue."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list(await session.scalars(select(SweepMark)))
    finally:
        await engine.dispose()


async def load_ba_bich(database_url: str) -> None:
    """The schema and the Ba Bích plan, put in by the command line as the clerk would."""
    for args in (("db", "upgrade"), ("plan", "load", str(EXAMPLE_PLAN.relative_to(ROOT)))):
        code, _, err = await run_cli(database_url, *args)
        assert code == 0, err


# Two processes per test cost more than the tests: they run once per session and backend.
BA_BICH = Template("ba_bich", load_ba_bich)


@pytest.fixture
async def loaded(
    backend: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> AsyncIterator[str]:
    """A database of its own with the schema and the Ba Bích plan."""
    async with scratch_database(backend, tmp_path, database_templates, BA_BICH) as url:
        yield url


async def test_invite_prints_a_deep_link_and_stores_only_a_hash(loaded: str) -> None:
    code, out, err = await run_cli(
        loaded, "invite", "nhut", env={"TELEGRAM_BOT_USERNAME": "@nhacviec_xa_bot"}
    )
    assert code == 0, err
    plain, rest = invitation(out, "Trần Văn Nhứt")
    link = f"https://t.me/nhacviec_xa_bot?start={plain}"
    assert rest == vi("cli.invite.link", link=link) + "\n"
    match = LINK.search(rest)
    assert match is not None and match.group(0) == link
    engine = make_engine(loaded)
    async with make_sessionmaker(engine)() as session:
        invites = list(await session.scalars(select(Invite)))
    await engine.dispose()
    assert [i.code_hash for i in invites] == [hash_code(plain)]
    assert all(plain not in (i.code_hash or "") for i in invites)


async def test_invite_asks_telegram_for_the_username(loaded: str) -> None:
    async with FakeBotApi(bot_username="ba_bich_bot") as server:
        code, out, err = await run_cli(
            loaded,
            "invite",
            "Lương",
            env={"TELEGRAM_TOKEN": server.token, "TELEGRAM_API_URL": server.url},
        )
    assert code == 0, err
    plain, rest = invitation(out, "Phạm Văn Lương")
    assert rest == vi("cli.invite.link", link=f"https://t.me/ba_bich_bot?start={plain}") + "\n"
    assert server.token not in out + err


async def test_invite_without_any_username_explains_start(loaded: str) -> None:
    code, out, err = await run_cli(loaded, "invite", "Phạm Văn Mạnh")
    assert code == 0, err
    plain, rest = invitation(out, "Phạm Văn Mạnh")
    assert rest == vi("cli.invite.no_username", code=plain) + "\n"


async def test_invite_says_how_to_use_the_code_on_each_channel_configured(loaded: str) -> None:
    zalo = {"ZALO_TOKEN": "123:zalo-secret", "ZALO_BOT_NAME": "Nhắc việc Ba Bích"}
    code, out, err = await run_cli(loaded, "invite", "Phạm Văn Mạnh", env=zalo)
    assert code == 0, err
    plain, rest = invitation(out, "Phạm Văn Mạnh")
    zalo_line = vi("invite.zalo", bot="Nhắc việc Ba Bích", code=plain)
    assert (
        rest
        == zalo_line.replace("<b>", "")
        .replace("</b>", "")
        .replace("<code>", "")
        .replace("</code>", "")
        + "\n"
    )
    assert "123:zalo-secret" not in out + err

    both = {**zalo, "TELEGRAM_BOT_USERNAME": "ba_bich_bot"}
    code, out, err = await run_cli(loaded, "invite", "Phạm Văn Dũng", env=both)
    assert code == 0, err
    plain, rest = invitation(out, "Phạm Văn Dũng")
    lines = rest.splitlines()
    # Telegram's link is shown only when its token is set: the username alone says nothing
    # about whether the bot runs there, so with Zalo configured it is left out.
    assert len(lines) == 1 and plain in lines[0] and "Zalo" in lines[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Phạm Văn",
            vi(
                "cli.invite.ambiguous",
                name="Phạm Văn",
                candidates="\n".join(
                    [
                        "  - Phạm Văn Dũng (dung, Quân sự)",
                        "  - Phạm Văn Lương (luong, Lãnh đạo UBND xã)",
                        "  - Phạm Văn Mạnh (manh, Lãnh đạo UBND xã)",
                    ]
                ),
            ),
        ),
        ("Không Có Ai", vi("cli.invite.not_found", name="Không Có Ai")),
    ],
    ids=["ambiguous", "unknown"],
)
async def test_invite_refuses_ambiguous_or_unknown_names(
    loaded: str, name: str, expected: str
) -> None:
    code, _, err = await run_cli(loaded, "invite", name)
    assert code == 1
    assert err == f"error: {expected}\n"


async def test_run_without_a_token_says_what_to_set(loaded: str) -> None:
    code, _, err = await run_cli(loaded, "run")
    assert code == 1
    assert err == f"error: {vi('cli.run.no_token')}\n"


async def test_the_bot_process_answers_and_stops_on_sigterm(loaded: str, tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi() as server:
        server.add_user(7001, "Người lạ")
        process = await start_cli(
            loaded,
            "run",
            env={
                "TELEGRAM_TOKEN": server.token,
                "TELEGRAM_API_URL": server.url,
                "DATA_DIR": str(tmp_path),
                # The web app runs too; a port of its own keeps parallel tests apart.
                "WEB_PORT": str(port),
            },
        )
        try:
            await server.wait_for(lambda: server.polling, timeout=30)
            sent = server.user_sends_command(7001, "start")
            reply = await server.wait_for_message(
                7001, after=sent["message"]["message_id"], timeout=10
            )
            assert reply.text == vi("register.how", office=vi("office.default"))
            assert {c["command"] for c in server.my_commands} >= {"nhiemvu", "nop"}
            # The same process serves the web app.
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert "telegram" in health.json()["channels"]
            # Within the window in which the bot without reminders must not sweep, this one
            # has: that test cannot pass for want of waiting long enough.
            await wait_until(lambda: sweep_marks(loaded), timeout=SWEEP_WINDOW, what="a sweep")
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert server.token.split(":", 1)[1] not in (out + err).decode()


async def test_run_without_reminders_answers_but_never_sweeps(loaded: str, tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi() as server:
        server.add_user(7001, "Người lạ")
        process = await start_cli(
            loaded,
            "run",
            "--no-reminders",
            "--at",
            "08/03/2024 08:00",  # the Q1 report's due-day reminders fall due at this minute
            env={
                "TELEGRAM_TOKEN": server.token,
                "TELEGRAM_API_URL": server.url,
                "DATA_DIR": str(tmp_path),
                # The web app runs too; a port of its own keeps parallel tests apart.
                "WEB_PORT": str(port),
            },
        )
        try:
            await server.wait_for(lambda: server.polling, timeout=30)
            sent = server.user_sends_command(7001, "start")
            await server.wait_for_message(7001, after=sent["message"]["message_id"], timeout=10)
            # Nothing must happen, so only a fixed wait fits; the test above shows that a bot
            # with reminders sweeps within it.
            await asyncio.sleep(SWEEP_WINDOW)
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    engine = make_engine(loaded)
    async with make_sessionmaker(engine)() as session:
        marks = list(await session.scalars(select(SweepMark)))
        queued = list(await session.scalars(select(Reminder)))
    await engine.dispose()
    assert (marks, queued) == ([], [])
