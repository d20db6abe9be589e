"""Constraints and types of the data model, checked by the database itself on both backends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    LeavePeriod,
    Obligation,
    Official,
    Role,
    Submission,
    Task,
    Unit,
)
from db.names import fold_name

ICT = timezone(timedelta(hours=7))
NOW = datetime(2024, 3, 8, 8, 0, tzinfo=ICT)


@dataclass
class Seed:
    unit: Unit
    nhut: Official
    luong: Official
    task: Task
    obligation: Obligation


def _official(unit: Unit, key: str, name: str) -> Official:
    return Official(unit=unit, key=key, full_name=name, name_folded=fold_name(name))


@pytest.fixture
async def seed(session: AsyncSession) -> Seed:
    """A committed commune with two officials, one task and one report."""
    unit = Unit(code="ba-bich", name="UBND xã Ba Bích", timezone="Asia/Ho_Chi_Minh")
    nhut = _official(unit, "vp-tk", "Nguyễn Văn Nhứt")
    luong = _official(unit, "tu-phap", "Phạm Văn Lương")
    session.add_all([unit, nhut, luong])
    await session.flush()
    task = Task(unit_id=unit.id, code="2.1", title="Rà soát thủ tục hành chính")
    obligation = Obligation(
        unit_id=unit.id,
        code="cchc-q1-2024",
        report_code="cchc-q1",
        kind="quarter",
        title="Báo cáo CCHC Quý I năm 2024",
        due_date=date(2024, 3, 10),
        window_start=date(2023, 12, 15),
        window_end=date(2024, 3, 14),
    )
    session.add_all([task, obligation])
    await session.commit()
    return Seed(unit, nhut, luong, task, obligation)


def _identity(official: Official, channel: Channel, external_id: str) -> ChannelIdentity:
    return ChannelIdentity(
        official_id=official.id, channel=channel, external_id=external_id, bound_at=NOW
    )


def _submission(
    seed: Seed,
    official: Official,
    version: int,
    *,
    obligation: Obligation | None = None,
    task: Task | None = None,
) -> Submission:
    return Submission(
        unit_id=seed.unit.id,
        official_id=official.id,
        obligation_id=obligation.id if obligation else None,
        task_id=task.id if task else None,
        version=version,
        submitted_at=NOW,
    )


async def _refused(session: AsyncSession, row: object) -> None:
    """Adding `row` must be refused by the database itself."""
    session.add(row)
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()


# --- chat identities


async def test_an_external_id_belongs_to_one_official(session: AsyncSession, seed: Seed) -> None:
    session.add(_identity(seed.nhut, Channel.TELEGRAM, "5550001"))
    await session.commit()

    await _refused(session, _identity(seed.luong, Channel.TELEGRAM, "5550001"))


async def test_an_external_id_is_bound_once_even_to_the_same_official(
    session: AsyncSession, seed: Seed
) -> None:
    session.add(_identity(seed.nhut, Channel.TELEGRAM, "5550001"))
    await session.commit()

    await _refused(session, _identity(seed.nhut, Channel.TELEGRAM, "5550001"))


async def test_the_same_external_id_on_another_channel_is_another_chat(
    session: AsyncSession, seed: Seed
) -> None:
    session.add(_identity(seed.nhut, Channel.TELEGRAM, "5550001"))
    session.add(_identity(seed.luong, Channel.ZALO, "5550001"))
    await session.commit()

    rows = await session.scalars(select(ChannelIdentity).order_by(ChannelIdentity.channel))
    assert [(i.channel, i.official_id) for i in rows] == [
        (Channel.TELEGRAM, seed.nhut.id),
        (Channel.ZALO, seed.luong.id),
    ]


# --- timestamps


async def test_timestamps_come_back_aware_utc(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    local = datetime(2024, 3, 10, 23, 59, 30, tzinfo=ICT)
    session.add(AuditEntry(actor="test", action="bind", at=local))
    await session.commit()

    async with sessionmaker() as fresh:
        at = await fresh.scalar(select(AuditEntry.at))

    assert at == local
    assert at is not None and at.tzinfo is UTC
    assert at == datetime(2024, 3, 10, 16, 59, 30, tzinfo=UTC)


async def test_timestamps_are_stored_and_compared_as_utc(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # 00:30 on 11/3 in Ba Bích is earlier than 20:00 on 10/3 in New York (UTC-4 in March).
    ict = datetime(2024, 3, 11, 0, 30, tzinfo=ICT)
    new_york = datetime(2024, 3, 10, 20, 0, tzinfo=timezone(timedelta(hours=-4)))
    session.add_all(
        [
            AuditEntry(actor="ict", action="x", at=ict),
            AuditEntry(actor="ny", action="x", at=new_york),
        ]
    )
    await session.commit()

    async with sessionmaker() as fresh:
        in_order = (await fresh.scalars(select(AuditEntry.actor).order_by(AuditEntry.at))).all()
        before = (
            await fresh.scalars(
                select(AuditEntry.actor).where(
                    AuditEntry.at < datetime(2024, 3, 10, 18, 0, tzinfo=UTC)
                )
            )
        ).all()
        raw = await fresh.scalar(text("SELECT at FROM audit_entries WHERE actor = 'ict'"))

    assert in_order == ["ict", "ny"]
    assert before == ["ict"]
    if isinstance(raw, str):  # SQLite keeps the text; it must be the UTC wall time
        assert raw.startswith("2024-03-10 17:30:00")
    else:
        assert raw == datetime(2024, 3, 10, 17, 30, tzinfo=UTC)


async def test_naive_datetimes_are_refused(session: AsyncSession) -> None:
    session.add(AuditEntry(actor="test", action="bind", at=datetime(2024, 3, 10, 12, 0)))

    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()
    await session.rollback()


async def test_naive_datetimes_are_refused_in_queries(session: AsyncSession) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await session.scalars(select(AuditEntry).where(AuditEntry.at < datetime(2024, 3, 10)))


# --- submissions


async def test_a_submission_is_for_a_report_or_a_task(session: AsyncSession, seed: Seed) -> None:
    session.add(_submission(seed, seed.nhut, 1, obligation=seed.obligation))
    session.add(_submission(seed, seed.nhut, 1, task=seed.task))
    await session.commit()


@pytest.mark.parametrize("subject", ["neither", "both"])
async def test_a_submission_has_exactly_one_subject(
    session: AsyncSession, seed: Seed, subject: str
) -> None:
    if subject == "both":
        row = _submission(seed, seed.nhut, 1, obligation=seed.obligation, task=seed.task)
    else:
        row = _submission(seed, seed.nhut, 1)

    await _refused(session, row)


async def test_report_versions_are_unique_per_official(session: AsyncSession, seed: Seed) -> None:
    session.add(_submission(seed, seed.nhut, 1, obligation=seed.obligation))
    # Another official's version 1 and the same official's version 2 are fine.
    session.add(_submission(seed, seed.luong, 1, obligation=seed.obligation))
    session.add(_submission(seed, seed.nhut, 2, obligation=seed.obligation))
    await session.commit()

    await _refused(session, _submission(seed, seed.nhut, 2, obligation=seed.obligation))


async def test_task_result_versions_are_unique_per_official(
    session: AsyncSession, seed: Seed
) -> None:
    session.add(_submission(seed, seed.nhut, 1, task=seed.task))
    await session.commit()

    await _refused(session, _submission(seed, seed.nhut, 1, task=seed.task))


# --- leave and roles


async def test_a_leave_cannot_end_before_it_starts(session: AsyncSession, seed: Seed) -> None:
    session.add(
        LeavePeriod(official_id=seed.nhut.id, starts_on=date(2024, 3, 4), ends_on=date(2024, 3, 4))
    )
    await session.commit()

    await _refused(
        session,
        LeavePeriod(official_id=seed.nhut.id, starts_on=date(2024, 3, 5), ends_on=date(2024, 3, 4)),
    )


async def test_on_leave_counts_both_ends_of_a_period(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    for start, end in [(date(2024, 3, 4), date(2024, 3, 8)), (date(2024, 4, 1), date(2024, 4, 1))]:
        session.add(LeavePeriod(official_id=seed.nhut.id, starts_on=start, ends_on=end))
    await session.commit()

    async with sessionmaker() as fresh:
        nhut = await fresh.scalar(
            select(Official).options(selectinload(Official.leaves)).where(Official.key == "vp-tk")
        )
    assert nhut is not None

    on_leave = [d for d in range(1, 31) if nhut.on_leave(date(2024, 3, d))]
    assert on_leave == [4, 5, 6, 7, 8]
    assert nhut.on_leave(date(2024, 4, 1))
    assert not nhut.on_leave(date(2024, 3, 31))
    assert not nhut.on_leave(date(2024, 4, 2))


async def test_roles_follow_the_flags(session: AsyncSession, seed: Seed) -> None:
    assert seed.luong.roles == {Role.OFFICIAL}  # the column defaults

    seed.nhut.is_clerk = True
    chairman = _official(seed.unit, "chu-tich", "Trần Văn Chủ")
    chairman.is_official = False
    chairman.is_leader = True
    session.add(chairman)
    await session.commit()

    assert seed.nhut.roles == {Role.OFFICIAL, Role.CLERK}
    assert chairman.roles == {Role.LEADER}
