"""The deployment kit in deploy/ (issue 15): the systemd unit, the Dockerfile, compose.yaml and
the entrypoint, checked as far as this machine can without building anything or touching the
network: `systemd-analyze verify` and `docker compose config` when they are installed, their
shape parsed otherwise."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
SCRIPT = next(iter(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]))


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read(DEPLOY / "nhacviec.service", encoding="utf-8")
    return unit


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def test_the_service_runs_the_venvs_console_script_as_its_own_user_hardened() -> None:
    service = _unit()["Service"]
    assert service["ExecStart"] == f"/opt/nhacviec/.venv/bin/{SCRIPT} run"
    assert service["WorkingDirectory"] == "/opt/nhacviec"
    assert service["User"] == "nhacviec"
    assert service["EnvironmentFile"] == "/etc/nhacviec/nhacviec.env"
    assert service["Restart"] == "on-failure"
    assert service["StandardOutput"] == service["StandardError"] == "journal"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    # The example settings' DATA_DIR (and a SQLite file) lie where the service may write.
    writable = [PurePosixPath(p) for p in service["ReadWritePaths"].split()]
    settings = _env_file(DEPLOY / "nhacviec.env.example")
    data_dir = PurePosixPath(settings["DATA_DIR"])
    assert any(data_dir.is_relative_to(p) for p in writable)
    assert _unit()["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # verify wants the executable to exist: the unit, pointed at a stand-in checkout.
    checkout = tmp_path / "opt" / "nhacviec"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    script = checkout / ".venv" / "bin" / SCRIPT
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    unit = tmp_path / "nhacviec.service"
    text = (DEPLOY / "nhacviec.service").read_text().replace("/opt/nhacviec", str(checkout))
    unit.write_text(text)

    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )

    complaints = [line for line in done.stderr.splitlines() if unit.name in line]
    assert done.returncode == 0 and not complaints, done.stderr


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of each line of deploy/Dockerfile, continuations joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_installs_only_the_bots_dependencies_and_runs_as_a_plain_user() -> None:
    steps = _dockerfile()
    assert steps[0][0] == "FROM" and steps[0][1].startswith("python:3.11-slim")
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "pip install ." in runs
    assert "[dev]" not in (DEPLOY / "Dockerfile").read_text()
    for tool in ("pytest", "ruff", "mypy"):
        assert tool not in runs
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [args for op, args in steps if op == "CMD"] == ['["run"]']
    # Everything it copies is in the repository and let through by its .dockerignore, and
    # `pip install .` gets what it builds from: pyproject.toml, the readme, every package.
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text()
    copied = set()
    for op, args in steps:
        if op == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert f"!{source.rstrip('/')}" in ignored.replace("/\n", "\n"), source
                copied.add(source)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], *packages} <= copied


def test_the_entrypoint_upgrades_the_schema_before_run_only(tmp_path: Path) -> None:
    # A stand-in `nhacviec` that writes down each call.
    calls = tmp_path / "calls"
    fake = tmp_path / "nhacviec"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    entrypoint = str(DEPLOY / "docker-entrypoint.sh")

    subprocess.run(["sh", entrypoint, "run"], env=env, check=True)
    assert calls.read_text().splitlines() == ["db upgrade", "run"]

    calls.unlink()
    subprocess.run(["sh", entrypoint, "backup", "--out", "/tmp/b.tar.gz"], env=env, check=True)
    assert calls.read_text().splitlines() == ["backup --out /tmp/b.tar.gz"]


def test_compose_runs_the_bot_beside_postgresql_15_with_volumes_and_a_healthcheck() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"bot", "db"}
    db, bot = services["db"], services["bot"]

    assert db["image"] == "postgres:15"
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == (
        DEPLOY / "Dockerfile"
    )
    assert bot["env_file"] == ".env" and (DEPLOY / ".env.example").is_file()
    env = bot["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://nhacviec:")
    assert env["DATABASE_URL"].endswith("@db:5432/nhacviec")
    assert f"data:{env['DATA_DIR']}" in bot["volumes"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    check = " ".join(bot["healthcheck"]["test"])
    assert f"http://127.0.0.1:{env['WEB_PORT']}/healthz" in check
    assert set(compose["volumes"]) == {"data", "pgdata"}
    # The password is the .env's, never written into the file.
    assert "${POSTGRES_PASSWORD" in db["environment"]["POSTGRES_PASSWORD"]


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("docker compose is not installed")
    # A copy beside a .env of its own: the checkout's deploy/.env is the server's business.
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", deploy / "compose.yaml")
    shutil.copy(DEPLOY / ".env.example", deploy / ".env")

    done = subprocess.run(
        [docker, "compose", "-f", str(deploy / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
