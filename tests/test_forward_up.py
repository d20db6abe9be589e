"""The commune's compiled report handed up to the province through the bot, and the
province's compilation over its communes: totals recomputed from the communes' figures."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.figures import Figure, figures_of, record_figures
from db.files import FileStore
from db.identities import bind
from db.models import Channel, Obligation, Official, Submission, Unit
from db.plan import load_plan, read_plan
from db.submissions import submit
from handlers.callbacks import forward_data
from handlers.conversation import Conversation
from handlers.types import ChoiceTapped, CommandSent, Sender
from tests.conftest import ROOT
from tests.wording import vi

Sessions = async_sessionmaker[AsyncSession]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EXAMPLES = ROOT / "examples"
NHUT = Sender(Channel.TELEGRAM, "7001", "Nhứt")
HOA = Sender(Channel.TELEGRAM, "7002", "Hoa")
HUONG = Sender(Channel.TELEGRAM, "7003", "Hương")


async def official(session: AsyncSession, unit_code: str, key: str) -> Official:
    found = await session.scalar(
        select(Official)
        .join(Unit, Unit.id == Official.unit_id)
        .where(Unit.code == unit_code, Official.key == key)
    )
    assert found is not None
    return found


async def q1_of(session: AsyncSession, unit_code: str) -> Obligation:
    found = await session.scalar(
        select(Obligation)
        .join(Unit, Unit.id == Obligation.unit_id)
        .where(Unit.code == unit_code, Obligation.report_code == "CCHC-Q1")
    )
    assert found is not None
    return found


async def hand_in_with(
    session: AsyncSession, person: Official, obligation: Obligation, at: datetime, **numbers: int
) -> None:
    submission = await submit(session, person, obligation, [], at, TZ, actor="test")
    figures = {code: Figure(Decimal(value)) for code, value in numbers.items()}
    await record_figures(session, submission.id, figures, "chat", at)


async def test_the_compiled_report_goes_up_and_the_province_recomputes_from_the_communes(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2024, 3, 12, 9, 0, tzinfo=TZ))
    store = FileStore(tmp_path / "data")
    async with sessionmaker() as session:
        for name in ("tinh-quang-ngai.yaml", "ba-bich-2024.yaml", "xa-mau-1.yaml"):
            await load_plan(session, read_plan(EXAMPLES / name), clock, store)
    async with sessionmaker() as session:
        nhut = await official(session, "ba-bich", "nhut")
        hoa = await official(session, "ba-bich", "hoa")
        huong = await official(session, "tinh-quang-ngai", "huong")
        for person, sender in ((nhut, NHUT), (hoa, HOA), (huong, HUONG)):
            await bind(session, person, sender.channel, sender.external_id, clock.now())
        ba_bich_q1 = await q1_of(session, "ba-bich")
        # Two of Ba Bích's officials gave figures: 100/200 and 62/176 received online.
        await hand_in_with(
            session, hoa, ba_bich_q1, clock.now(), hs_truc_tuyen=100, hs_tiep_nhan=200
        )
        await hand_in_with(
            session, nhut, ba_bich_q1, clock.now(), hs_truc_tuyen=62, hs_tiep_nhan=176
        )
        # Mẫu 1's clerk already handed the commune's report up: 40 of 100.
        mau_clerk = await session.scalar(
            select(Official)
            .join(Unit, Unit.id == Official.unit_id)
            .where(Unit.code == "xa-mau-1", Official.is_clerk.is_(True))
        )
        assert mau_clerk is not None
        province_q1 = await q1_of(session, "tinh-quang-ngai")
        await hand_in_with(
            session, mau_clerk, province_q1, clock.now(), hs_truc_tuyen=40, hs_tiep_nhan=100
        )
        await session.commit()
        ba_bich_q1_id, province_q1_id = ba_bich_q1.id, province_q1.id

    conversation = Conversation(sessionmaker, clock, store, TZ)
    [compiled] = await conversation.handle(NHUT, CommandSent("baocao", "CCHC-Q1"))
    assert "162/376" in compiled.text
    [[up]] = compiled.choices
    assert up.label == vi("compile.forward.button", to="Sở Nội vụ tỉnh Quảng Ngãi")
    assert up.data == forward_data(ba_bich_q1_id)

    # An official cannot hand the commune's report up.
    [refused] = await conversation.handle(HOA, ChoiceTapped(up.data))
    assert refused.text != "" and "📤" not in refused.text

    [receipt] = await conversation.handle(NHUT, ChoiceTapped(up.data))
    assert vi("compile.forward.carried", to="Sở Nội vụ tỉnh Quảng Ngãi", count=2) in receipt.text
    async with sessionmaker() as session:
        sent = await session.scalar(
            select(Submission).where(
                Submission.obligation_id == province_q1_id,
                Submission.official_id == nhut.id,
            )
        )
        assert sent is not None and sent.version == 1
        carried = await figures_of(session, sent.id)
    assert carried == {
        "hs_truc_tuyen": Figure(Decimal(162)),
        "hs_tiep_nhan": Figure(Decimal(376)),
    }

    # Sở Nội vụ compiles over the communes: 162/376 and 40/100 make 202/476, not an average.
    [province] = await conversation.handle(HUONG, CommandSent("baocao", "CCHC-Q1"))
    assert "202/476" in province.text and "42,4%" in province.text
    # Both communes loaded here (Ba Bích, Mẫu 1) have handed in.
    handed = vi("compile.summary.units_handed_in", share="2/2", rate="đạt 100,0%")
    assert handed in province.text
    # The province reviews it like any submission.
    [accepted] = await conversation.handle(HUONG, CommandSent("tiepnhan", str(sent.id)))
    assert accepted.text == vi(
        "clerk.accept.done",
        id=sent.id,
        name=nhut.full_name,
        title=(await _title(sessionmaker, province_q1_id)),
        version=1,
    )


async def _title(sessionmaker: Sessions, obligation_id: int) -> str:
    async with sessionmaker() as session:
        obligation = await session.get(Obligation, obligation_id)
        assert obligation is not None
        return obligation.title
