"""The deployed process, `python -m bot run`, on its first start and through faults (issue 15).

A safe first start: never the sample plan, the commune's own through PLAN_FILE, and without
any plan one Vietnamese paragraph and a non-zero exit. Faults as one clear line: a rejected
token ends the process at once; a Bot API or a database that is not up at start is waited out
(one WARNING a try); a connection lost while running is one WARNING, one INFO when it is
back, and what was sent meanwhile is answered. Never a traceback, never the token or the
database password. Against the fake Bot API and the fake Zalo API over real HTTP.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import bot.serve
from bot.cli import main
from tests.cli import run_cli, start_cli
from tests.conftest import EXAMPLE_PLAN, ROOT
from tests.databases import DatabaseTemplates, scratch_database
from tests.fakebotapi import DEFAULT_TOKEN, FakeBotApi
from tests.fakezaloapi import FakeZaloApi
from tests.local_server import free_port
from tests.test_invite_and_run_cli import BA_BICH
from tests.waiting import wait_until
from tests.wording import vi

USER = 7001
# Well-formed, but not the fake's: the fake answers 401 as Telegram does.
WRONG_TELEGRAM_TOKEN = "123456789:AAWrongTokenWrongTokenWrongToken_01"
WRONG_ZALO_TOKEN = "4242:zalo-wrong-secret-0123456789"
DB_PASSWORD = "Mat-khau-CSDL-9f3k"


@dataclass
class BotProcess:
    """A running `python -m bot run`, its stderr read line by line as it comes."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    out: str = ""
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode("utf-8").rstrip("\n"))

    def matching(self, words: str) -> list[str]:
        return [line for line in self.lines if words in line]

    async def wait_for_lines(self, words: str, count: int = 1, timeout: float = 30) -> None:  # noqa: ASYNC109
        await wait_until(
            lambda: len(self.matching(words)) >= count, timeout, what=f"{count} × {words!r}"
        )

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        # stderr is the reader's: only stdout is read here, to its end.
        out = await asyncio.wait_for(self.process.stdout.read(), timeout=30)
        await asyncio.wait_for(self.process.wait(), timeout=30)
        if self.reader is not None:
            await asyncio.wait_for(self.reader, timeout=5)
        self.out = out.decode("utf-8")
        assert self.process.returncode is not None
        return self.process.returncode

    @property
    def everything(self) -> str:
        return self.out + "\n".join(self.lines)


@asynccontextmanager
async def bot_process(
    database_url: str, env: Mapping[str, str], *args: str
) -> AsyncIterator[BotProcess]:
    """`python -m bot run --no-reminders ARGS` with a web port of its own; stopped by SIGTERM
    at the end (the test reads its exit code from `stop`)."""
    process = await start_cli(
        database_url, "run", "--no-reminders", *args, env={"WEB_PORT": str(free_port()), **env}
    )
    bot = BotProcess(process)
    bot.reader = asyncio.create_task(bot._read())
    try:
        yield bot
    finally:
        if process.returncode is None:
            await bot.stop()


def telegram_env(server: FakeBotApi | None, tmp_path: Path, url: str = "") -> dict[str, str]:
    return {
        "TELEGRAM_TOKEN": server.token if server else DEFAULT_TOKEN,
        "TELEGRAM_API_URL": server.url if server else url,
        "DATA_DIR": str(tmp_path / "data"),
    }


def clean(bot: BotProcess, *secrets: str) -> None:
    """No traceback and no secret in anything the process wrote."""
    assert "Traceback" not in bot.everything, bot.everything
    for secret in secrets:
        assert secret not in bot.everything
        tail = secret.split(":", 1)[-1]
        assert tail not in bot.everything


async def answered(server: FakeBotApi, command: str = "start") -> str:
    sent = server.user_sends_command(USER, command)
    reply = await server.wait_for_message(USER, after=sent["message"]["message_id"], timeout=30)
    return reply.text or ""


@pytest.fixture
async def loaded(
    backend: str, tmp_path: Path, database_templates: DatabaseTemplates
) -> AsyncIterator[str]:
    """A database of its own with the schema and the Ba Bích plan."""
    async with scratch_database(backend, tmp_path, database_templates, BA_BICH) as url:
        yield url


# --- a safe first start ------------------------------------------------------------------


async def test_without_any_plan_the_bot_says_how_to_load_one_and_exits(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        code, out, err = await run_cli(database_url, "run", env=telegram_env(server, tmp_path))
    assert code == 1
    assert err == f"error: {vi('cli.run.no_plan')}\n"
    assert out == ""
    assert not server.requests_for("getUpdates")


async def test_plan_file_loads_the_communes_plan_on_start(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        server.add_user(USER, "Người lạ")
        env = {**telegram_env(server, tmp_path), "PLAN_FILE": str(EXAMPLE_PLAN.relative_to(ROOT))}
        async with bot_process(database_url, env) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            assert await bot.stop() == 0
    assert EXAMPLE_PLAN.name in bot.out  # the summary `plan load` prints
    clean(bot, server.token)


def test_make_run_with_a_token_never_loads_the_sample(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    planned = subprocess.run(
        ["make", "-n", "run"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "plan load" not in planned and "examples/" not in planned
    assert "bot db upgrade" in planned and "bot run" in planned and "demo --tour" in planned


# --- a rejected token --------------------------------------------------------------------


async def test_a_wrong_telegram_token_is_one_line_and_a_non_zero_exit(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        env = {**telegram_env(server, tmp_path), "TELEGRAM_TOKEN": WRONG_TELEGRAM_TOKEN}
        code, out, err = await run_cli(loaded, "run", env=env)
    assert code == 1
    assert err == f"error: {vi('cli.run.telegram_token_rejected')}\n"
    assert WRONG_TELEGRAM_TOKEN.split(":")[1] not in out + err


async def test_a_wrong_zalo_token_is_one_line_and_a_non_zero_exit(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeZaloApi() as server:
        env = {"ZALO_TOKEN": WRONG_ZALO_TOKEN, "ZALO_API_URL": server.url}
        code, out, err = await run_cli(loaded, "run", env={**env, "DATA_DIR": str(tmp_path)})
    assert code == 1
    assert err == f"error: {vi('cli.run.zalo_token_rejected')}\n"
    assert WRONG_ZALO_TOKEN.split(":")[1] not in out + err


# --- not up at start ---------------------------------------------------------------------


async def test_a_bot_api_down_at_start_is_waited_for_then_served(
    loaded: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with bot_process(loaded, telegram_env(None, tmp_path, url)) as bot:
        # Nothing listens yet: a WARNING a try, and the process keeps going.
        await bot.wait_for_lines("Telegram Bot API unreachable", count=2)
        assert bot.process.returncode is None
        async with FakeBotApi(port=port) as server:
            server.add_user(USER, "Người lạ")
            await server.wait_for(lambda: server.polling, timeout=60)
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            assert await bot.stop() == 0
    warnings = bot.matching("Telegram Bot API unreachable")
    assert all(" WARNING " in line for line in warnings), warnings
    clean(bot, DEFAULT_TOKEN)


async def test_a_database_down_at_start_is_waited_for_without_its_password(
    tmp_path: Path,
) -> None:
    # A PostgreSQL server that is not there (yet): nothing listens on this port.
    url = f"postgresql+asyncpg://nhacviec:{DB_PASSWORD}@127.0.0.1:{free_port()}/nhacviec"
    async with bot_process(url, telegram_env(None, tmp_path, "http://127.0.0.1:9")) as bot:
        await bot.wait_for_lines("the database unreachable", count=2)
        assert bot.process.returncode is None
        assert await bot.stop() == 0
    assert all(" WARNING " in line for line in bot.matching("the database unreachable"))
    assert "nhacviec:***@127.0.0.1" in bot.matching("the database unreachable")[0]
    clean(bot, DB_PASSWORD, DEFAULT_TOKEN)


async def test_a_database_server_that_comes_up_later_is_used_then(
    loaded: str, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("a database server that is not up yet is a PostgreSQL case")
    real = make_url(loaded)
    port = free_port()
    late = real.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    async with FakeBotApi() as server:
        server.add_user(USER, "Người lạ")
        async with bot_process(late, telegram_env(server, tmp_path)) as bot:
            await bot.wait_for_lines("the database unreachable", count=2)
            assert not server.requests_for("getMe")
            # The server comes up: a forwarder to the real one starts listening on that port.
            async with tcp_forwarder(port, real.host or "127.0.0.1", real.port or 5432):
                await server.wait_for(lambda: server.polling, timeout=60)
                assert await answered(server) == vi("register.how", office=vi("office.default"))
                assert await bot.stop() == 0
    clean(bot, server.token)


@asynccontextmanager
async def tcp_forwarder(port: int, host: str, target: int) -> AsyncIterator[None]:
    """Listen on 127.0.0.1:`port` and pass every connection through to `host`:`target`."""
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, target)
        for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
            pipes.add(asyncio.create_task(task))

    listener = await asyncio.start_server(connect, "127.0.0.1", port)
    try:
        yield
    finally:
        listener.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


# --- lost while running ------------------------------------------------------------------


async def test_telegram_lost_while_running_is_one_warning_one_info_and_nothing_lost(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        server.add_user(USER, "Người lạ")
        async with bot_process(loaded, telegram_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            server.go_down()
            # Sent while the bot cannot reach Telegram: kept by Telegram, answered after.
            sent = server.user_sends_command(USER, "huongdan")
            await wait_until(lambda: server.refused >= 4, 60, what="four refused polls")
            server.come_back()
            reply = await server.wait_for_message(
                USER, after=sent["message"]["message_id"], timeout=60
            )
            assert reply.text == vi("register.how", office=vi("office.default"))
            await bot.wait_for_lines("Telegram Bot API reachable again")
            assert await bot.stop() == 0
    lost = bot.matching("Telegram Bot API unreachable")
    back = bot.matching("Telegram Bot API reachable again")
    assert len(lost) == 1 and " WARNING " in lost[0], bot.lines
    assert len(back) == 1 and " INFO " in back[0], bot.lines
    clean(bot, server.token)


async def test_zalo_lost_while_running_is_one_warning_one_info_and_nothing_lost(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeZaloApi() as server:
        env = {"ZALO_TOKEN": server.token, "ZALO_API_URL": server.url, "DATA_DIR": str(tmp_path)}
        user = server.add_user(display_name="Người lạ")
        async with bot_process(loaded, env) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            server.go_down()
            update = server.user_sends_text(user, "/huongdan")
            await wait_until(lambda: server.refused >= 3, 60, what="three refused polls")
            server.come_back()
            reply = await server.wait_for_message(user.id, after=update, timeout=60)
            assert reply.text
            await bot.wait_for_lines("Zalo Bot API reachable again")
            assert await bot.stop() == 0
    lost = bot.matching("Zalo Bot API unreachable")
    back = bot.matching("Zalo Bot API reachable again")
    assert len(lost) == 1 and " WARNING " in lost[0], bot.lines
    assert len(back) == 1 and " INFO " in back[0], bot.lines
    clean(bot, server.token)


# --- whatever the exception --------------------------------------------------------------


def test_an_unexpected_failure_is_one_line_without_the_token_or_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    token = "123456789:AASecretTokenThatMustNeverShow_0001"
    url = f"postgresql+asyncpg://nhacviec:{DB_PASSWORD}@127.0.0.1:1/nhacviec"

    async def broken(*args: object, **kwargs: object) -> None:
        # A library's message quoting a file URL with the token, and the database URL.
        raise RuntimeError(f"GET https://api.telegram.org/file/bot{token}/a.pdf failed; {url}")

    monkeypatch.setattr(bot.serve, "run_bot", broken)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name, value in {"TELEGRAM_TOKEN": token, "DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)

    assert main(["run"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {vi('cli.unexpected', kind='RuntimeError')}\n"
    assert token.split(":")[1] not in captured.out + captured.err
    assert DB_PASSWORD not in captured.out + captured.err


# --- an update the library cannot read ---------------------------------------------------


async def test_an_unreadable_update_is_skipped_once_and_polling_goes_on(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        server.add_user(USER, "Người lạ")
        async with bot_process(loaded, telegram_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            # A date PTB cannot read: before, it failed every getUpdates from then on.
            chat = {"id": USER, "type": "private"}
            server.sends_raw_update(
                {"message": {"message_id": 99, "date": "hôm qua", "chat": chat, "text": "x"}}
            )
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            polls = len(server.requests_for("getUpdates"))
            assert await bot.stop() == 0
    assert polls < 10, polls
    skipped = bot.matching("skipped a Telegram update the bot cannot read")
    assert len(skipped) == 1 and " WARNING " in skipped[0], bot.lines
    assert "hôm qua" not in bot.everything
    clean(bot, server.token)


# --- a token revoked while running -------------------------------------------------------


async def test_a_token_revoked_while_running_is_one_line_and_a_non_zero_exit(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        server.add_user(USER, "Người lạ")
        async with bot_process(loaded, telegram_env(server, tmp_path)) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            token = server.token
            server.token = WRONG_TELEGRAM_TOKEN  # @BotFather's /revoke: the old one is 401
            # The long poll under way ends as usual; the next one is refused.
            await asyncio.wait_for(bot.process.wait(), timeout=60)
            assert await bot.stop() == 1
    rejected = bot.matching(vi("cli.run.telegram_token_rejected"))
    assert len(rejected) == 1, "\n".join(bot.lines)
    clean(bot, token)


# --- webhooks registered through an outage; a worker without a plan -----------------------


async def test_a_webhook_that_cannot_be_set_at_start_is_retried_then_used(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeBotApi(allow_insecure_webhook=True) as server:
        server.add_user(USER, "Người lạ")
        server.fail_next("setWebhook", 502, times=2)  # Telegram's gateway is having a moment
        port = free_port()
        env = {
            **telegram_env(server, tmp_path),
            "WEB_PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        async with bot_process(loaded, env, "--webhook") as bot:
            await bot.wait_for_lines("Telegram Bot API unreachable", count=2)
            await server.wait_for(lambda: server.webhook_url, timeout=60)
            await bot.wait_for_lines("Uvicorn running")  # the fake pushes once, no retries
            assert await answered(server) == vi("register.how", office=vi("office.default"))
            assert await bot.stop() == 0
    clean(bot, server.token)


async def test_a_reminder_worker_without_any_plan_says_how_to_load_one_and_exits(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeBotApi() as server:
        env = telegram_env(server, tmp_path)
        code, _, err = await run_cli(database_url, "reminders", "worker", env=env)
    assert code == 1
    assert err == f"error: {vi('cli.run.no_plan')}\n"
    assert not server.requests_for("sendMessage")


async def test_a_zalo_token_revoked_while_running_is_one_line_and_a_non_zero_exit(
    loaded: str, tmp_path: Path
) -> None:
    async with FakeZaloApi() as server:
        env = {"ZALO_TOKEN": server.token, "ZALO_API_URL": server.url, "DATA_DIR": str(tmp_path)}
        user = server.add_user(display_name="Người lạ")
        async with bot_process(loaded, env) as bot:
            await server.wait_for(lambda: server.polling, timeout=30)
            token = server.token
            server.token = WRONG_ZALO_TOKEN  # a new token made in Zalo Bot Manager
            server.user_sends_text(user, "/huongdan")  # ends the long poll under way
            await asyncio.wait_for(bot.process.wait(), timeout=60)
            assert await bot.stop() == 1
    assert len(bot.matching(vi("cli.run.zalo_token_rejected"))) == 1, "\n".join(bot.lines)
    clean(bot, token)
