"""The bundled Ba Bích example the demo starts from, and putting it into the demo's database.

Loading is idempotent: a second run on the same folder binds only the chats still missing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.command_error import CommandError
from db import identities, sweep_marks, units
from db.clock import Clock
from db.files import FileStore
from db.models import Channel, Official, Unit
from db.plan import Plan, PlanError, load_plan, read_plan
from handlers.catalog import t

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_PLAN = REPO_ROOT / "examples" / "ba-bich-2024.yaml"
# The level above Ba Bích: the tour hands the compiled report up to it.
PROVINCE_PLAN = REPO_ROOT / "examples" / "tinh-quang-ngai.yaml"
# Played by `--tour` on a fresh demo, so `make run` alone shows the whole story once.
TOUR_SCRIPT = REPO_ROOT / "examples" / "demo-script.txt"
# The same office on Zalo: numbered choices answered by typing, upload links (`--tour --zalo`).
ZALO_TOUR_SCRIPT = REPO_ROOT / "examples" / "demo-zalo-script.txt"
SAMPLE_FILE = REPO_ROOT / "examples" / "templates" / "cchc" / "phu-luc.xlsx"


async def seed(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, store: FileStore, language: str
) -> tuple[Unit, str]:
    """Load the bundled plan, give every official a console chat; the unit and first speaker.

    A fresh demo's sweep starts at the clock's time, not at the start of its day.
    """
    # Ba Bích first, so it is the demo's unit (the first); then its province, then Ba Bích
    # again, which puts it under the province (the tour hands its report up there).
    for plan in (bundled_plan(language), province_plan(language), bundled_plan(language)):
        async with sessionmaker() as session:
            await load_plan(session, plan, clock, store)
    async with sessionmaker() as session, session.begin():
        unit, speaker = await _set_up_people(session, clock.now())
        if await sweep_marks.swept_until(session, unit.id) is None:
            await sweep_marks.set_sweep_marks(session, clock.now())
    return unit, speaker


def bundled_plan(language: str) -> Plan:
    """The Ba Bích plan, its officials speaking `language`."""
    return _in_language(BUNDLED_PLAN, language)


def province_plan(language: str) -> Plan:
    """The province above Ba Bích, its officer speaking `language`."""
    return _in_language(PROVINCE_PLAN, language)


def _in_language(path: Path, language: str) -> Plan:
    try:
        plan = read_plan(path)
    except PlanError as exc:
        raise CommandError(str(exc)) from exc
    spec = plan.spec
    if any(o.language != language for o in spec.officials):
        # The demo speaks one language throughout: the bot's messages follow --lang too.
        officials = [o.model_copy(update={"language": language}) for o in spec.officials]
        spec = spec.model_copy(update={"officials": officials})
    return dataclasses.replace(plan, spec=spec)


async def bind_phone(session: AsyncSession, official: Official, at: datetime) -> str:
    """Bind the official's demo phone: the console chat named by their key."""
    await identities.bind(session, official, Channel.CONSOLE, official.key, at)
    return official.key


async def _set_up_people(session: AsyncSession, now: datetime) -> tuple[Unit, str]:
    unit = await units.first_unit(session)
    if unit is None:
        raise CommandError(t("demo.no_unit", None))
    people = await units.officials_of(session, unit.id)
    bound = await identities.chats_on(session, Channel.CONSOLE)
    for official in people:
        if official.key not in bound:
            await bind_phone(session, official, now)
    # Someone who gets reminders and is neither the clerk nor a leader: the usual newcomer.
    plain = [o for o in people if o.active and o.is_official and not (o.is_clerk or o.is_leader)]
    speaker = (plain or people)[0].key if people else ""
    return unit, speaker
