"""`python -m bot` / `nhacviec`: the command line of the bot and of the clerk."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.command_error import CommandError
from bot.logs import configure_logging, mask
from bot.settings import Settings, SettingsError
from db.clock import (
    Clock,
    FixedClock,
    RunningClock,
    SystemClock,
    parse_local_date,
    parse_local_datetime,
)
from handlers.catalog import t

log = logging.getLogger("nhacviec")


Command = Callable[[Settings, argparse.Namespace, Clock], Coroutine[Any, Any, int]]


def _clock_for(args: argparse.Namespace, settings: Settings) -> Clock:
    at: str | None = getattr(args, "at", None)
    if not at:
        return SystemClock()
    try:
        moment: datetime = parse_local_datetime(at, settings.tz)
    except ValueError as exc:
        raise CommandError(f'--at: {exc}; expected "dd/mm/yyyy HH:MM"') from exc
    # A process that keeps running (run, reminders worker) lets the clock run from there, so
    # its sweeps move on and its retries come due; a one-shot command looks at that moment.
    return RunningClock(moment) if getattr(args, "clock_runs", False) else FixedClock(moment)


async def _db_upgrade(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from db.migrate import upgrade

    done = await upgrade(settings.database_url)
    where = settings.safe_database_url
    if done.before is None:
        print(t("cli.db.created", "vi", revision=done.after, where=where))
    elif done.before != done.after:
        print(t("cli.db.upgraded", "vi", before=done.before, after=done.after, where=where))
    else:
        print(t("cli.db.current", "vi", revision=done.after, where=where))
    return 0


async def _plan_load(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.plan_commands import load_plan

    print(await load_plan(settings, Path(args.file), clock))
    return 0


async def _plan_import(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.plan_commands import import_plan

    print(await import_plan(settings, Path(args.file), clock, dry_run=args.dry_run))
    return 0


async def _plan_export(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.plan_commands import export_plan

    source = Path(args.source) if args.source else None
    print(await export_plan(settings, Path(args.file), source, args.unit))
    return 0


async def _plan_show(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.plan_commands import show_plan

    print(await show_plan(settings, args.year, clock))
    return 0


async def _invite(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.invite_command import invite

    print(await invite(settings, args.name, args.unit, args.days, clock))
    return 0


async def _overdue(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.desk_commands import overdue

    print(await overdue(settings, " ".join(args.query), args.unit, clock))
    return 0


async def _summary(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.desk_commands import summary

    print(await summary(settings, " ".join(args.report), args.unit, clock))
    return 0


async def _export(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.desk_commands import export

    print(await export(settings, args.what, Path(args.out), args.unit, clock))
    return 0


async def _compile(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.compile_command import compile_report

    files = await compile_report(settings, args.report, Path(args.out), args.unit, clock)
    print(files.appendix)
    print(files.draft)
    return 0


async def _run(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.serve import run_bot

    if args.rate <= 0:
        raise CommandError("--rate must be positive")
    await run_bot(
        replace(settings, rate_share=args.rate),
        clock,
        reminders=not args.no_reminders,
        webhook=True if args.webhook else None,
    )
    return 0


async def _demo(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.demo import run_demo

    if not args.verbose:
        # The sweep and the dispatcher log every batch; in the demo the phones show them.
        logging.getLogger().setLevel(logging.WARNING)
    script = Path(args.script) if args.script else None
    # Without --zalo the phones stay as the last run left them (/zalo, /telegram switch).
    zalo = True if args.zalo else None
    return await run_demo(Path(args.dir), script, args.lang, tour=args.tour, zalo=zalo)


async def _reminders_preview(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.reminder_commands import PreviewError, preview_reminders

    try:
        start, end = parse_local_date(args.start), parse_local_date(args.end)
    except ValueError as exc:
        raise CommandError(f"{exc}; expected dd/mm/yyyy") from exc
    try:
        print(await preview_reminders(settings, start, end, args.unit))
    except PreviewError as exc:
        raise CommandError(str(exc)) from exc
    return 0


async def _reminders_worker(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.serve import run_reminder_worker

    if args.lease <= 0 or args.rate <= 0:
        raise CommandError("--lease and --rate must be positive")
    await run_reminder_worker(
        replace(settings, rate_share=args.rate), clock, lease=timedelta(seconds=args.lease)
    )
    return 0


async def _backup(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.backup import take_backup

    print(await take_backup(settings, Path(args.out), clock.now()))
    return 0


async def _restore(settings: Settings, args: argparse.Namespace, clock: Clock) -> int:
    from bot.backup import restore_backup

    print(await restore_backup(settings, Path(args.file)))
    return 0


def _add_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar='"dd/mm/yyyy HH:MM"', help="look at the calendar as of this local time"
    )


def _add_running_at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at",
        metavar='"dd/mm/yyyy HH:MM"',
        help="start the calendar at this local time and let it run (a rehearsal, a benchmark)",
    )
    parser.set_defaults(clock_runs=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="nhacviec", description="Nhắc việc: reminders for a commune office."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_parser = commands.add_parser("db", help="database schema")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or upgrade the schema").set_defaults(
        handler=_db_upgrade
    )

    plan_parser = commands.add_parser("plan", help="the commune's plan of tasks and reports")
    plan_commands = plan_parser.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    load = plan_commands.add_parser("load", help="load or update a plan from a YAML file")
    load.add_argument("file", help="the plan file, e.g. examples/ba-bich-2024.yaml")
    load.set_defaults(handler=_plan_load)
    imported = plan_commands.add_parser(
        "import", help="check a plan workbook (.xlsx), show what it changes, and load it"
    )
    imported.add_argument("file", help="the workbook, e.g. examples/ke-hoach-mau.xlsx")
    imported.add_argument(
        "--dry-run", action="store_true", help="only check and show the changes; load nothing"
    )
    _add_at(imported)
    imported.set_defaults(handler=_plan_import)
    export = plan_commands.add_parser("export", help="write the plan as a workbook (.xlsx)")
    export.add_argument("file", help="the workbook to write")
    export.add_argument(
        "--from",
        dest="source",
        help="the plan file (YAML or .xlsx) to write; default: the one loaded last",
    )
    export.add_argument("--unit", help="the unit's code, when the database holds several")
    export.set_defaults(handler=_plan_export)
    show = plan_commands.add_parser("show", help="print tasks and reports")
    show.add_argument("--year", type=int, help="only the reports due in this year")
    _add_at(show)
    show.set_defaults(handler=_plan_show)

    invite = commands.add_parser("invite", help="a one-time registration link for an official")
    invite.add_argument("name", help="the official's name (accents and case do not matter)")
    invite.add_argument("--unit", help="the unit's code, when the database holds several")
    invite.add_argument("--days", type=int, default=7, help="days the link stays valid (7)")
    _add_at(invite)
    invite.set_defaults(handler=_invite)

    reminders = commands.add_parser("reminders", help="the reminder calendar")
    reminder_commands = reminders.add_subparsers(
        dest="reminders_command", required=True, metavar="ACTION"
    )
    show_calendar = reminder_commands.add_parser(
        "preview", help="print the reminders of a period without sending anything"
    )
    show_calendar.add_argument("--from", dest="start", required=True, metavar="dd/mm/yyyy")
    show_calendar.add_argument("--to", dest="end", required=True, metavar="dd/mm/yyyy")
    show_calendar.add_argument("--unit", help="the unit's code, when the database holds several")
    show_calendar.set_defaults(handler=_reminders_preview)
    worker = reminder_commands.add_parser(
        "worker", help="sweep and send reminders without answering chats (beside `run`)"
    )
    worker.add_argument(
        "--lease",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long a claimed reminder stays with this worker before another may resend it",
    )
    worker.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="this process's share of each channel's overall rate (1/N beside N-1 others)",
    )
    _add_running_at(worker)
    worker.set_defaults(handler=_reminders_worker)

    overdue = commands.add_parser("overdue", help="what is overdue, by report or task")
    overdue.add_argument("query", nargs="*", help="a report or task code, or a department")
    overdue.add_argument("--unit", help="the unit's code, when the database holds several")
    _add_at(overdue)
    overdue.set_defaults(handler=_overdue)

    summary = commands.add_parser("summary", help="the status matrix of one report or task")
    summary.add_argument("report", nargs="+", help="a report code (CCHC-Q1) or a task code")
    summary.add_argument("--unit", help="the unit's code, when the database holds several")
    _add_at(summary)
    summary.set_defaults(handler=_summary)

    export = commands.add_parser("export", help="an Excel workbook of a report or a year")
    export.add_argument("what", help="a report code (CCHC-Q1-2024) or a year (2024)")
    export.add_argument("--out", required=True, metavar="FILE", help="the .xlsx file to write")
    export.add_argument("--unit", help="the unit's code, when the database holds several")
    _add_at(export)
    export.set_defaults(handler=_export)

    compile_parser = commands.add_parser(
        "compile", help="the compiled report: an .xlsx appendix and a .docx draft to sign"
    )
    compile_parser.add_argument("report", help="a report code (CCHC-Q1 or CCHC-Q1-2024)")
    compile_parser.add_argument(
        "--out", required=True, metavar="DIR", help="the folder to write both files into"
    )
    compile_parser.add_argument("--unit", help="the unit's code, when the database holds several")
    _add_at(compile_parser)
    compile_parser.set_defaults(handler=_compile)

    run = commands.add_parser(
        "run",
        help="run the bot on every channel whose token is set (TELEGRAM_TOKEN, ZALO_TOKEN), "
        "with the web app and the reminders",
    )
    run.add_argument(
        "--no-reminders",
        action="store_true",
        help="only answer chats; `reminders worker` processes send the reminders",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="take updates through webhooks at PUBLIC_URL instead of polling (or WEBHOOK=1)",
    )
    run.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="this process's share of each channel's overall rate, beside `reminders worker`s",
    )
    _add_running_at(run)
    run.set_defaults(handler=_run)

    backup = commands.add_parser(
        "backup", help="one .tar.gz: a consistent copy of the database and the stored files"
    )
    backup.add_argument("--out", required=True, metavar="FILE", help="the .tar.gz to write")
    backup.set_defaults(handler=_backup)
    restore = commands.add_parser(
        "restore", help="restore a backup onto an empty database, and its files into DATA_DIR"
    )
    restore.add_argument("file", help="the .tar.gz written by `backup`")
    restore.set_defaults(handler=_restore)

    demo = commands.add_parser("demo", help="try the bot in the terminal: no token, no network")
    demo.add_argument("--dir", default=".demo", help="the demo's own database and files (.demo)")
    demo.add_argument("--script", metavar="FILE", help="run the lines of FILE and print them")
    demo.add_argument("--lang", choices=("vi", "en"), help="language of the demo and the bot (vi)")
    demo.add_argument(
        "--tour",
        action="store_true",
        help="on a fresh demo, first play examples/demo-script.txt "
        "(demo-zalo-script.txt with --zalo; make run does)",
    )
    demo.add_argument(
        "--zalo",
        action="store_true",
        help="the phones are Zalo chats: numbered choices, upload links (/telegram switches back)",
    )
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors a person can fix are printed plainly with exit code 1."""
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        configure_logging(args.verbose, settings.secrets, json_lines=settings.log_format == "json")
        clock = _clock_for(args, settings)
        return asyncio.run(handler(settings, args, clock))
    except (CommandError, SettingsError) as exc:
        _say_error(str(exc), settings)
        return 1
    except BrokenPipeError:
        # The reader went away (`plan show | head`): what it wanted it has. Python would
        # complain again when flushing stdout at exit, so stdout now goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ConnectionError, socket.gaierror, DBAPIError) as exc:
        # A database that is down or refuses us: say which one (password masked), no traceback.
        log.debug("database failure", exc_info=True)
        where = settings.safe_database_url if settings else "DATABASE_URL"
        _say_error(f"cannot use the database {where} ({type(exc).__name__})", settings)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Whatever it is, one line (the traceback with --verbose, secrets masked by the log
        # handler): a message could quote a URL holding the token, so only its type is shown.
        log.debug("unexpected failure", exc_info=True)
        _say_error(t("cli.unexpected", "vi", kind=type(exc).__name__), settings)
        return 1


def _say_error(message: str, settings: Settings | None) -> None:
    """One line on stderr, with the token and the database password masked."""
    print(f"error: {mask(message, settings.secrets if settings else ())}", file=sys.stderr)
