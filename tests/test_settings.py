"""Settings: defaults, the .env file, validation, and never showing a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import DEFAULT_DATABASE_URL, DEFAULT_TIMEZONE, Settings, SettingsError
from tests.conftest import ROOT

TOKEN = "123456789:AAFakeTokenThatMustNeverBeShown_xyz"
SECRET_URL = "postgresql+asyncpg://u:s3cret@h/db"


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, dotenv_path=tmp_path / "missing.env")

    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./nhacviec.db"
    assert settings.timezone == DEFAULT_TIMEZONE == "Asia/Ho_Chi_Minh"
    assert str(settings.tz) == "Asia/Ho_Chi_Minh"
    assert settings.data_dir == Path("./data")
    assert settings.telegram_token is None
    assert settings.telegram_api_url is None


def test_empty_values_mean_the_default() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "", "TIMEZONE": "", "DATA_DIR": "", "TELEGRAM_TOKEN": ""},
        dotenv_path=None,
    )

    assert settings == Settings()


def test_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "DATABASE_URL=sqlite+aiosqlite:///from-file.db\n"
        "TIMEZONE=Asia/Bangkok\n"
        "DATA_DIR=/srv/from-file\n"
        f"TELEGRAM_TOKEN={TOKEN}\n",
        encoding="utf-8",
    )

    settings = Settings.from_env(
        {"DATABASE_URL": "sqlite+aiosqlite:///from-env.db", "DATA_DIR": "/srv/from-env"},
        dotenv_path=dotenv,
    )

    assert settings.database_url == "sqlite+aiosqlite:///from-env.db"
    assert settings.data_dir == Path("/srv/from-env")
    assert settings.timezone == "Asia/Bangkok"  # only in the file
    assert settings.telegram_token == TOKEN


def test_the_process_environment_and_dotenv_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "TIMEZONE=Asia/Tokyo\nTELEGRAM_API_URL=http://127.0.0.1:8081/bot\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIMEZONE", "Asia/Bangkok")
    monkeypatch.delenv("TELEGRAM_API_URL", raising=False)

    settings = Settings.from_env()

    assert settings.timezone == "Asia/Bangkok"
    assert settings.telegram_api_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "ICT", "+07:00", "../../etc/passwd"])
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(SettingsError, match="TIMEZONE"):
        Settings.from_env({"TIMEZONE": zone}, dotenv_path=None)


def test_an_invalid_database_url_is_refused_without_echoing_it() -> None:
    bad = "postgresql+asyncpg://u:s3cret@h:notaport/db"

    with pytest.raises(SettingsError, match="DATABASE_URL") as error:
        Settings.from_env({"DATABASE_URL": bad}, dotenv_path=None)

    assert "s3cret" not in str(error.value)


def test_repr_hides_the_token_and_the_database_password() -> None:
    settings = Settings(database_url=SECRET_URL, telegram_token=TOKEN)

    for shown in (repr(settings), str(settings), f"{settings}", settings.safe_database_url):
        assert "s3cret" not in shown
        assert TOKEN not in shown
        assert "AAFake" not in shown
    assert "telegram_token=set" in repr(settings)
    assert "telegram_token=unset" in repr(Settings())
    assert settings.safe_database_url == "postgresql+asyncpg://u:***@h/db"


# --- the command line reports setting errors in one line


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TELEGRAM_TOKEN"}}
    clean["PYTHONPATH"] = str(ROOT)  # cwd is a scratch directory, away from any real .env
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_clean_error(done: subprocess.CompletedProcess[str], *hidden: str) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for secret in hidden:
        assert secret not in done.stdout + done.stderr


def test_cli_bad_database_url(tmp_path: Path) -> None:
    done = _cli(
        {"DATABASE_URL": "postgresql+asyncpg://u:s3cret@h:notaport/db", "TELEGRAM_TOKEN": TOKEN},
        "db",
        "upgrade",
        cwd=tmp_path,
    )

    _assert_clean_error(done, "s3cret", TOKEN)
    assert "DATABASE_URL" in done.stderr


def test_cli_bad_timezone(tmp_path: Path) -> None:
    done = _cli({"TIMEZONE": "Mars/Olympus_Mons"}, "db", "upgrade", cwd=tmp_path)

    _assert_clean_error(done)
    assert "TIMEZONE" in done.stderr


@pytest.mark.parametrize("at", ["31/02/2024 10:00", "2024-03-10 10:00", "10/03/2024 25:00", "soon"])
def test_cli_bad_at(tmp_path: Path, at: str) -> None:
    done = _cli(
        {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"},
        "plan",
        "show",
        "--at",
        at,
        cwd=tmp_path,
    )

    _assert_clean_error(done)
    assert "--at" in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://u:s3cret@127.0.0.1:1/db",  # nothing listens there
        "postgresql://u:s3cret@127.0.0.1/db",  # a driver that is not installed / not async
        "nosuchdb://u:s3cret@h/db",
    ],
)
def test_cli_unusable_database(tmp_path: Path, url: str) -> None:
    _assert_clean_error(_cli({"DATABASE_URL": url}, "db", "upgrade", cwd=tmp_path), "s3cret")


def test_cli_errors_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "not a url with s3cret")

    assert main(["db", "upgrade"]) == 1

    err = capsys.readouterr().err
    assert err == "error: DATABASE_URL is not a valid database URL\n"
