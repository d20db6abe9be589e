"""One-time registration codes: single use, expiry, hashing and races."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram_links import telegram_invite_link
from db import invites
from db.invites import RedeemedInvite, create_invite, mark_used_by, redeem_invite
from db.models import AuditEntry, Base, Channel, ChannelIdentity, Invite, Official, Unit
from db.names import fold_name
from handlers.invitation import NoSingleOfficial, invite_official

NOW = datetime(2024, 3, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
async def official(session: AsyncSession) -> Official:
    unit = Unit(code="ba-bich", name="UBND xã Ba Bích", timezone="Asia/Ho_Chi_Minh")
    person = Official(
        unit=unit,
        key="tu-phap",
        full_name="Phạm Văn Lương",
        name_folded=fold_name("Phạm Văn Lương"),
    )
    session.add_all([unit, person])
    await session.commit()
    return person


async def _issue(
    session: AsyncSession, official: Official, ttl: timedelta = timedelta(days=7)
) -> str:
    code = await create_invite(session, official, NOW, ttl)
    await session.commit()
    return code


async def _redeem(session: AsyncSession, code: str, at: datetime) -> RedeemedInvite | None:
    result = await redeem_invite(session, code, at)
    await session.commit()
    return result


async def test_a_code_is_a_deep_link_payload(session: AsyncSession, official: Official) -> None:
    codes = {await _issue(session, official) for _ in range(5)}

    assert len(codes) == 5
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,32}", code)


async def test_only_the_hash_of_the_code_is_stored(
    session: AsyncSession, official: Official
) -> None:
    code = await _issue(session, official)

    stored = await session.scalar(select(Invite))
    assert stored is not None
    assert stored.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert stored.official_id == official.id and stored.unit_id == official.unit_id
    assert stored.expires_at == NOW + timedelta(days=7)
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(select(table))).all():
            assert code not in repr(tuple(row)), table.name


async def test_an_invite_is_redeemed_once(session: AsyncSession, official: Official) -> None:
    code = await _issue(session, official)

    first = await _redeem(session, code, NOW + timedelta(hours=1))
    second = await _redeem(session, code, NOW + timedelta(hours=2))

    assert first is not None and first.official.id == official.id
    assert second is None
    invite = await session.get(Invite, first.invite_id, populate_existing=True)
    assert invite is not None and invite.used_at == NOW + timedelta(hours=1)


async def test_an_invite_expires_at_its_expiry_instant(
    session: AsyncSession, official: Official
) -> None:
    late_code = await _issue(session, official, timedelta(days=1))
    just_in_time_code = await _issue(session, official, timedelta(days=1))
    expiry = NOW + timedelta(days=1)

    assert await _redeem(session, late_code, expiry) is None
    assert await _redeem(session, just_in_time_code, expiry - timedelta(seconds=1)) is not None


async def test_an_expired_invite_stays_unused(session: AsyncSession, official: Official) -> None:
    code = await _issue(session, official, timedelta(days=1))

    assert await _redeem(session, code, NOW + timedelta(days=2)) is None

    invite = await session.scalar(select(Invite))
    assert invite is not None and invite.used_at is None


async def test_a_wrong_code_finds_nothing(session: AsyncSession, official: Official) -> None:
    code = await _issue(session, official)
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")

    assert await _redeem(session, wrong, NOW) is None
    assert await _redeem(session, code, NOW) is not None


async def test_surrounding_whitespace_is_forgiven(
    session: AsyncSession, official: Official
) -> None:
    code = await _issue(session, official)

    assert await _redeem(session, f"  {code}\n", NOW) is not None


class _NoDatabase:
    """Stands in for a session: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a malformed code reached the database (session.{name})")


@pytest.mark.parametrize(
    "code",
    ["", "a" * 33, "abc def", "abc/def", "abc+def", "abc=", "mã-mời", "abc\x00", "x' OR '1'='1"],
)
async def test_malformed_codes_are_refused_without_a_query(code: str) -> None:
    assert await redeem_invite(cast(AsyncSession, _NoDatabase()), code, NOW) is None


async def test_an_inactive_officials_invite_is_refused_and_kept(
    session: AsyncSession, official: Official
) -> None:
    code = await _issue(session, official)
    official.active = False
    await session.commit()

    assert await _redeem(session, code, NOW) is None

    official.active = True
    await session.commit()
    assert await _redeem(session, code, NOW) is not None


async def test_rolling_back_releases_the_claim(session: AsyncSession, official: Official) -> None:
    code = await _issue(session, official)

    assert await redeem_invite(session, code, NOW) is not None
    await session.rollback()  # e.g. the chat turned out to be bound to someone else

    assert await _redeem(session, code, NOW) is not None


async def test_the_bound_identity_is_recorded(session: AsyncSession, official: Official) -> None:
    code = await _issue(session, official)
    redeemed = await redeem_invite(session, code, NOW)
    assert redeemed is not None
    identity = ChannelIdentity(
        official_id=redeemed.official.id,
        channel=Channel.TELEGRAM,
        external_id="5550001",
        bound_at=NOW,
    )
    session.add(identity)
    await session.flush()
    await mark_used_by(session, redeemed.invite_id, identity.id)
    await session.commit()

    invite = await session.get(Invite, redeemed.invite_id, populate_existing=True)
    assert invite is not None and invite.used_by_identity_id == identity.id


async def test_naive_times_and_empty_lifetimes_are_refused(
    session: AsyncSession, official: Official
) -> None:
    with pytest.raises(ValueError):
        await create_invite(session, official, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        await create_invite(session, official, NOW, timedelta(0))
    with pytest.raises(ValueError):
        await redeem_invite(session, "abc", NOW.replace(tzinfo=None))
    assert await session.scalar(select(func.count()).select_from(Invite)) == 0


async def test_concurrent_redemptions_have_one_winner(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    official: Official,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = await _issue(session, official)
    both_read = asyncio.Barrier(2)

    async def attempt() -> RedeemedInvite | None:
        async with sessionmaker() as own:
            real_scalar = own.scalar

            async def scalar_then_wait(statement: Any, *args: Any, **kwargs: Any) -> Any:
                # Both sessions see the invite unused before either claims it: the race
                # a check-then-write implementation would lose.
                found = await real_scalar(statement, *args, **kwargs)
                await both_read.wait()
                return found

            monkeypatch.setattr(own, "scalar", scalar_then_wait)
            return await _redeem(own, code, NOW)

    results = await asyncio.wait_for(asyncio.gather(attempt(), attempt()), timeout=30)

    assert sorted(r is not None for r in results) == [False, True]


def test_the_code_length_limit_fits_a_telegram_payload() -> None:
    # Telegram accepts up to 64 characters in a deep-link payload.
    assert invites.MAX_CODE_LENGTH <= 64


async def test_invite_official_creates_audits_and_links(
    session: AsyncSession, official: Official
) -> None:
    invitation = await invite_official(
        session,
        official.unit_id,
        "pham van luong",
        NOW,
        actor="cli",
        ttl=timedelta(days=3),
        link=telegram_invite_link("nhacviec_xa_bot"),
    )
    await session.commit()

    assert invitation.official.id == official.id
    assert invitation.expires_at == NOW + timedelta(days=3)
    assert invitation.link == f"https://t.me/nhacviec_xa_bot?start={invitation.code}"
    stored = await session.scalar(select(Invite))
    assert stored is not None and stored.code_hash == invites.hash_code(invitation.code)
    entry = await session.scalar(select(AuditEntry))
    assert entry is not None
    assert (entry.actor, entry.action, entry.target) == ("cli", "invite.create", "official:tu-phap")
    assert entry.details == {"days": 3}


async def test_invite_official_refuses_an_unknown_name(
    session: AsyncSession, official: Official
) -> None:
    with pytest.raises(NoSingleOfficial) as refused:
        await invite_official(session, official.unit_id, "Không Có Ai", NOW, actor="cli")

    assert refused.value.candidates == []
    assert await session.scalar(select(func.count()).select_from(Invite)) == 0


def test_telegram_links_need_a_usable_bot_name() -> None:
    assert telegram_invite_link("ba_bich_bot")("abc-DEF_123") == (
        "https://t.me/ba_bich_bot?start=abc-DEF_123"
    )
    assert telegram_invite_link(None)("abc") is None
    assert telegram_invite_link("")("abc") is None
    assert telegram_invite_link("abc")("abc") is None  # shorter than any Telegram bot name
