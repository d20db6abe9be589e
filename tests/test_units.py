"""Which unit a command is about: by code, or the only one there is."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_error import CommandError
from bot.unit_choice import chosen_unit
from db.models import Unit
from db.units import UnitAmbiguous, UnitLookupError, UnitNotFound, find_unit
from handlers.catalog import t


async def add_units(session: AsyncSession, *codes: str) -> None:
    session.add_all(Unit(code=c, name=f"UBND xã {c}", timezone="Asia/Ho_Chi_Minh") for c in codes)
    await session.commit()


async def test_no_unit_at_all(session: AsyncSession) -> None:
    with pytest.raises(UnitNotFound) as caught:
        await find_unit(session, None)
    assert (caught.value.code, caught.value.known) == (None, ())
    with pytest.raises(UnitNotFound) as caught:
        await find_unit(session, "ba-bich")
    assert (caught.value.code, caught.value.known) == ("ba-bich", ())


async def test_the_only_unit_needs_no_code(session: AsyncSession) -> None:
    await add_units(session, "ba-bich")
    assert (await find_unit(session, None)).code == "ba-bich"
    assert (await find_unit(session, "")).code == "ba-bich"
    assert (await find_unit(session, "ba-bich")).code == "ba-bich"


async def test_several_units_need_a_code(session: AsyncSession) -> None:
    await add_units(session, "ba-tieu", "ba-bich", "ba-dong")
    with pytest.raises(UnitAmbiguous) as caught:
        await find_unit(session, None)
    assert caught.value.known == ("ba-bich", "ba-dong", "ba-tieu")
    assert isinstance(caught.value, UnitLookupError)
    assert (await find_unit(session, "ba-dong")).code == "ba-dong"


async def test_a_wrong_code_says_which_codes_exist(session: AsyncSession) -> None:
    await add_units(session, "ba-bich", "ba-dong")
    with pytest.raises(UnitNotFound) as caught:
        await find_unit(session, "ba-tieu")
    assert (caught.value.code, caught.value.known) == ("ba-tieu", ("ba-bich", "ba-dong"))
    assert "ba-tieu" in str(caught.value) and "ba-bich" in str(caught.value)
    # Codes are matched exactly, as the plan wrote them.
    with pytest.raises(UnitNotFound):
        await find_unit(session, "BA-BICH")


async def test_the_command_line_says_which_units_there_are(session: AsyncSession) -> None:
    with pytest.raises(CommandError) as caught:
        await chosen_unit(session, None)
    assert str(caught.value) == t("cli.unit.none", "vi")

    await add_units(session, "ba-bich", "ba-dong")
    with pytest.raises(CommandError) as caught:
        await chosen_unit(session, None)
    assert str(caught.value) == t("cli.unit.which", "vi", units="ba-bich, ba-dong")
    with pytest.raises(CommandError) as caught:
        await chosen_unit(session, "ba-tieu")
    assert str(caught.value) == t(
        "cli.unit.unknown", "vi", code="ba-tieu", units="ba-bich, ba-dong"
    )
    assert (await chosen_unit(session, "ba-dong")).code == "ba-dong"
