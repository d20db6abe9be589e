"""The province's desk: Sở Nội vụ reads its report commune by commune.

The bundled examples (Sở Nội vụ tỉnh Quảng Ngãi above Ba Bích and two sample communes); the
province's Quý I report is due 15/03/2024 and each commune's clerk owes it by their own date.
By Tuesday 19/03/2024 09:00:

| commune | clerk | own date | Quý I to the province |
|---|---|---|---|
| UBND xã Ba Bích | Trần Văn Nhứt | 15/03 | handed in 15/03 07:00, on time, with figures |
| UBND xã Mẫu 1 | Nguyễn Văn An | 14/03 | nothing; reminded twice |
| UBND xã Mẫu 2 | Phạm Thị Đào | 15/03, extended to 18/03 | nothing (`late_mau_2`: 19/03 08:00) |

Figures: Ba Bích 100/200 online, 30/200 late, 50/80 digitised, "Thiếu máy scan"; Mẫu 2
40/100, 15/100, 30/40. Together 140/300 = 46,7%, 45/300 = 15,00%, 80/120 = 66,7%.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.desk.review import review
from db.figures import Figure, record_figures
from db.kinds import OBLIGATION
from db.models import (
    LeavePeriod,
    ObligationAssignee,
    Reminder,
    ReminderStatus,
    ReviewState,
    Submission,
    SubmissionFigure,
)
from db.submissions import submit
from handlers.clerk.context import Desk
from handlers.clerk.digest import digest
from handlers.clerk.export import export_to
from handlers.clerk.matrix import summary_text
from handlers.clerk.overdue import overdue_text
from tests.test_unit_tree import TZ, load_all, person, report_of, unit
from tests.wording import en, summary_line, vi

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2024, 3, 19, 9, 0, tzinfo=TZ)
Q1_TITLE = "Báo cáo CCHC Quý I năm 2024"
BA_BICH = "UBND xã Ba Bích"
MAU_1 = "UBND xã Mẫu 1 (dữ liệu mẫu)"
MAU_2 = "UBND xã Mẫu 2 (dữ liệu mẫu)"
BA_BICH_FIGURES = {
    "hs_truc_tuyen": Figure(Decimal(100)),
    "hs_tiep_nhan": Figure(Decimal(200)),
    "hs_tre_han": Figure(Decimal(30)),
    "hs_giai_quyet": Figure(Decimal(200)),
    "hs_so_hoa": Figure(Decimal(50)),
    "hs_can_so_hoa": Figure(Decimal(80)),
    "kho_khan": Figure(text="Thiếu máy scan"),
}
MAU_2_FIGURES = {
    "hs_truc_tuyen": Figure(Decimal(40)),
    "hs_tiep_nhan": Figure(Decimal(100)),
    "hs_tre_han": Figure(Decimal(15)),
    "hs_giai_quyet": Figure(Decimal(100)),
    "hs_so_hoa": Figure(Decimal(30)),
    "hs_can_so_hoa": Figure(Decimal(40)),
}


def at(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=TZ)


async def hand_in(
    sessions: Sessions, unit_code: str, key: str, when: datetime, figures: dict[str, Figure]
) -> None:
    """`key` of `unit_code` hands the province's Quý I in at `when`, with `figures`."""
    async with sessions() as session, session.begin():
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        clerk = await person(session, unit_code, key)
        row = await submit(session, clerk, q1, [], when, TZ, actor="test")
        await record_figures(session, row.id, figures, "chat", when)


@pytest.fixture
async def province(sessionmaker: Sessions, clock: FixedClock) -> Sessions:
    """The story of the docstring up to 19/03/2024 09:00, Mẫu 2 still missing."""
    await load_all(sessionmaker, clock)
    await hand_in(sessionmaker, "ba-bich", "nhut", at(15, 7), BA_BICH_FIGURES)
    async with sessionmaker() as session, session.begin():
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        an = await person(session, "xa-mau-1", "an")
        dao = await person(session, "xa-mau-2", "dao")
        await session.execute(
            update(ObligationAssignee)
            .where(
                ObligationAssignee.obligation_id == q1.id, ObligationAssignee.official_id == dao.id
            )
            .values(extended_due=date(2024, 3, 18))
        )
        for kind, day in (("before_1", 13), ("due_day", 14)):
            session.add(
                Reminder(
                    unit_id=q1.unit_id,
                    idempotency_key=f"{an.id}:{OBLIGATION}:{q1.id}:{kind}",
                    recipient_id=an.id,
                    subject_type=OBLIGATION,
                    subject_id=q1.id,
                    kind=kind,
                    slot_at=at(day, 8),
                    due_at=at(day, 8),
                    payload={},
                    status=ReminderStatus.SENT,
                    sent_at=at(day, 8),
                )
            )
    return sessionmaker


@pytest.fixture
async def late_mau_2(province: Sessions) -> Sessions:
    """Mẫu 2's clerk hands in the morning after the extension ran out."""
    await hand_in(province, "xa-mau-2", "dao", at(19, 8), MAU_2_FIGURES)
    return province


async def province_desk(session: AsyncSession, lang: str = "vi") -> Desk:
    """The desk as Lê Thị Thanh Hương, the province's clerk, sees it at NOW."""
    tinh = await unit(session, "tinh-quang-ngai")
    return Desk(session, tinh.id, TZ, NOW, lang)


# Mẫu 1's cell on 19/03: not handed in, five days after its own date of 14/03.
MAU_1_MISSING = vi(
    "desk.state.joined",
    first=vi("clerk.xlsx.missing"),
    second=", ".join(
        [vi("desk.state.overdue", days=5), vi("clerk.province.own_due", due="14/03/2024")]
    ),
)


def commune(unit_name: str, clerk: str, *facts: str) -> str:
    """One commune of the province's /quahan: the commune and its clerk, then the facts."""
    return f"{vi('clerk.province.commune', unit=unit_name, name=clerk)}\n  {' · '.join(facts)}"


# --- /quahan -----------------------------------------------------------------------------------


async def test_the_province_reads_overdue_communes_with_their_clerks(province: Sessions) -> None:
    async with province() as session:
        text = await overdue_text(await province_desk(session), "")

    assert text == "\n\n".join(
        [
            vi("clerk.overdue.header", when="19/03/2024 09:00", scope=""),
            "\n".join(
                [
                    vi(
                        "clerk.province.overdue_report",
                        code="CCHC-Q1-2024",
                        title=Q1_TITLE,
                        due="15/03/2024",
                        share="2/3",
                        rate="chiếm 66,7%",
                    ),
                    # The longest late first: Mẫu 1's own date was a day before the province's.
                    commune(
                        MAU_1,
                        "Nguyễn Văn An",
                        vi("desk.state.overdue", days=5),
                        vi("clerk.province.own_due", due="14/03/2024"),
                        vi("clerk.overdue.reminded", count=2),
                        vi("clerk.not_submitted"),
                    ),
                    commune(
                        MAU_2,
                        "Phạm Thị Đào",
                        vi("desk.state.overdue", days=1),
                        vi("clerk.overdue.extended", due="18/03/2024"),
                        vi("clerk.overdue.not_reminded"),
                        vi("clerk.not_submitted"),
                    ),
                ]
            ),
        ]
    )


async def test_a_report_code_narrows_the_provinces_list(province: Sessions) -> None:
    async with province() as session:
        desk = await province_desk(session)
        everything = await overdue_text(desk, "")
        by_code = await overdue_text(desk, "cchc-q1")

    assert by_code == everything.replace(
        vi("clerk.overdue.header", when="19/03/2024 09:00", scope=""),
        vi("clerk.overdue.header", when="19/03/2024 09:00", scope=" · CCHC-Q1-2024"),
    )


async def test_a_commune_past_its_date_is_listed_before_the_provinces_date(
    province: Sessions,
) -> None:
    async with province() as session:
        desk = await province_desk(session)
        friday = Desk(session, desk.unit_id, TZ, at(15, 9), "vi")
        text = await overdue_text(friday, "")

    # Friday 15/03: only Mẫu 1 (due 14/03) is late; Mẫu 2's extended date has not passed,
    # but it has not handed in either: listed with its extension, as /tonghop counts it.
    head = vi(
        "clerk.province.overdue_report",
        code="CCHC-Q1-2024",
        title=Q1_TITLE,
        due="15/03/2024",
        share="2/3",
        rate="chiếm 66,7%",
    )
    assert head in text
    assert MAU_1 in text and MAU_2 in text and BA_BICH not in text
    assert vi("desk.state.overdue", days=1) in text  # Mẫu 1, a day after its own date
    assert vi("clerk.overdue.extended", due="18/03/2024") in text


async def test_the_province_desk_speaks_english(province: Sessions) -> None:
    async with province() as session:
        text = await overdue_text(await province_desk(session, "en"), "")

    assert (
        en(
            "clerk.province.overdue_report",
            code="CCHC-Q1-2024",
            title=Q1_TITLE,
            due="15/03/2024",
            share="2/3",
            rate="66.7%",
        )
        in text
    )
    assert en("clerk.province.own_due", due="14/03/2024") in text


async def test_nothing_overdue_when_every_commune_has_handed_in(late_mau_2: Sessions) -> None:
    await hand_in(late_mau_2, "xa-mau-1", "an", at(19, 8), {})
    async with late_mau_2() as session:
        text = await overdue_text(await province_desk(session), "")

    assert text == vi("clerk.overdue.none", when="19/03/2024 09:00", scope="")


# --- /tonghop ----------------------------------------------------------------------------------


def names(key: str, *lines: str) -> str:
    return "\n".join([vi("clerk.summary.names", label=vi(key), count=len(lines)), *lines])


def summary_commune(unit_name: str, clerk: str, *facts: str) -> str:
    facts_text = f" — {', '.join(facts)}" if facts else ""
    return vi("clerk.province.summary_commune", unit=unit_name, name=clerk, facts=facts_text)


def commune_line(key: str, count: int, total: int, rate: str) -> str:
    return vi("clerk.province.summary_line", label=vi(key), share=f"{count}/{total}", rate=rate)


async def test_the_province_summary_lists_every_commune_and_the_figures_so_far(
    late_mau_2: Sessions,
) -> None:
    async with late_mau_2() as session:
        text = await summary_text(await province_desk(session), "CCHC-Q1")

    assert text == "\n\n".join(
        [
            vi(
                "clerk.summary.header",
                code="CCHC-Q1-2024",
                title=Q1_TITLE,
                due_part=vi("clerk.due", due="15/03/2024"),
                when="09:00 ngày 19/03/2024",
            ),
            "\n".join(
                [
                    commune_line("clerk.report.on_time", 1, 3, "đạt 33,3%"),
                    commune_line("clerk.report.late", 1, 3, "chiếm 33,3%"),
                    commune_line("clerk.report.missing", 1, 3, "chiếm 33,3%"),
                ]
            ),
            names("clerk.report.on_time", summary_commune(BA_BICH, "Trần Văn Nhứt")),
            names(
                "clerk.report.late",
                summary_commune(
                    MAU_2,
                    "Phạm Thị Đào",
                    vi("clerk.late_days", days=1),
                    vi("clerk.overdue.extended", due="18/03/2024"),
                ),
            ),
            names(
                "clerk.report.missing",
                summary_commune(
                    MAU_1,
                    "Nguyễn Văn An",
                    vi("desk.state.overdue", days=5),
                    vi("clerk.province.own_due", due="14/03/2024"),
                ),
            ),
            "\n".join(
                [
                    vi("clerk.province.figures_header", share="2/3"),
                    figure("Hồ sơ TTHC tiếp nhận trực tuyến", "140 hồ sơ"),
                    figure("Tổng số hồ sơ TTHC tiếp nhận", "300 hồ sơ"),
                    ratio("Tỷ lệ hồ sơ tiếp nhận trực tuyến", "đạt 46,7%", "140/300"),
                    figure("Hồ sơ TTHC giải quyết trễ hẹn", "45 hồ sơ"),
                    figure("Tổng số hồ sơ TTHC đã giải quyết", "300 hồ sơ"),
                    ratio("Tỷ lệ hồ sơ trễ hẹn", "chiếm 15,00%", "45/300"),
                    figure("Hồ sơ, kết quả giải quyết TTHC được số hóa", "80 hồ sơ"),
                    figure("Tổng số hồ sơ, kết quả cần số hóa", "120 hồ sơ"),
                    ratio("Tỷ lệ số hóa hồ sơ", "đạt 66,7%", "80/120"),
                    vi("clerk.province.figure_text", label="Khó khăn, vướng mắc, đề xuất", count=1),
                ]
            ),
        ]
    )


def figure(label: str, value: str) -> str:
    return vi("clerk.province.figure", label=label, value=value)


def ratio(label: str, rate: str, share: str) -> str:
    return vi(
        "clerk.province.figure_ratio",
        label=label,
        ratio=vi("compile.ratio", share=share, rate=rate),
    )


async def test_a_returned_report_takes_its_figures_out_of_the_totals(late_mau_2: Sessions) -> None:
    async with late_mau_2() as session, session.begin():
        dao = await person(session, "xa-mau-2", "dao")
        huong = await person(session, "tinh-quang-ngai", "huong")
        row = await session.scalar(select(Submission).where(Submission.official_id == dao.id))
        assert row is not None
        await review(
            session, row, ReviewState.RETURNED, huong, at(19, 8), actor="test", comment="Thiếu"
        )
    async with late_mau_2() as session:
        text = await summary_text(await province_desk(session), "CCHC-Q1")

    assert (
        summary_commune(
            MAU_2,
            "Phạm Thị Đào",
            vi("desk.state.overdue", days=1),
            vi("clerk.returned_on", date="19/03/2024"),
            vi("clerk.overdue.extended", due="18/03/2024"),
        )
        in text
    )
    assert vi("clerk.province.figures_header", share="1/3") in text
    assert figure("Hồ sơ TTHC tiếp nhận trực tuyến", "100 hồ sơ") in text


async def test_no_figures_yet_is_said_so(province: Sessions) -> None:
    async with province() as session:
        q1 = await report_of(session, "tinh-quang-ngai", "CCHC-Q1-2024")
        nhut = await person(session, "ba-bich", "nhut")
        submission_ids = select(Submission.id).where(
            Submission.obligation_id == q1.id, Submission.official_id == nhut.id
        )
        await session.execute(
            delete(SubmissionFigure).where(SubmissionFigure.submission_id.in_(submission_ids))
        )
        await session.commit()
        text = await summary_text(await province_desk(session), "CCHC-Q1")

    assert text.endswith(
        "\n".join(
            [
                vi("clerk.province.figures_header", share="0/3"),
                vi("clerk.province.figures_none"),
            ]
        )
    )


async def test_a_commune_office_still_reads_its_people(
    sessionmaker: Sessions, clock: FixedClock
) -> None:
    # Ba Bích's own Quý I (its officials to its clerk) keeps the person lines and counts.
    await load_all(sessionmaker, clock)
    async with sessionmaker() as session:
        ba_bich = await unit(session, "ba-bich")
        text = await summary_text(Desk(session, ba_bich.id, TZ, NOW, "vi"), "CCHC-Q1")
    assert summary_line("clerk.report.missing", 10, 10, "chiếm 100,0%") in text
    assert vi("clerk.province.figures_header", share="0/10") not in text


# --- /xuat -------------------------------------------------------------------------------------


async def test_the_export_has_one_row_per_commune(late_mau_2: Sessions, tmp_path: Path) -> None:
    target = tmp_path / "tong-hop.xlsx"
    async with late_mau_2() as session:
        count = await export_to(await province_desk(session), "CCHC-Q1", target)
    assert count == 1

    book = load_workbook(target)
    matrix = book[vi("clerk.xlsx.matrix_sheet")]
    rows = [tuple(r) for r in matrix.iter_rows(min_row=4, max_row=7, values_only=True)]
    header = (vi("clerk.xlsx.no"), vi("clerk.xlsx.commune"), vi("clerk.xlsx.commune_clerk"))
    assert rows == [
        (*header, "CCHC-Q1-2024"),
        (1, BA_BICH, "Trần Văn Nhứt", vi("clerk.xlsx.on_time")),
        (2, MAU_1, "Nguyễn Văn An", MAU_1_MISSING),
        (3, MAU_2, "Phạm Thị Đào", vi("clerk.xlsx.late", days=1)),
    ]
    counts = {r[1]: r[3] for r in matrix.iter_rows(min_row=9, values_only=True) if r[1]}
    assert counts[vi("clerk.xlsx.total")] == 3
    assert counts[vi("clerk.report.missing")] == 1

    versions = book["CCHC-Q1-2024"]
    assert next(versions.iter_rows(min_row=6, max_row=6, values_only=True))[:3] == header
    handed = [r[:4] for r in versions.iter_rows(min_row=7, values_only=True)]
    assert handed == [(1, BA_BICH, "Trần Văn Nhứt", 1), (2, MAU_2, "Phạm Thị Đào", 1)]


async def test_the_years_export_keeps_one_row_per_commune_across_reports(
    province: Sessions, tmp_path: Path
) -> None:
    target = tmp_path / "nam.xlsx"
    async with province() as session:
        count = await export_to(await province_desk(session), "2024", target)
    assert count == 4

    matrix = load_workbook(target)[vi("clerk.xlsx.matrix_sheet")]
    rows = [tuple(r[:3]) for r in matrix.iter_rows(min_row=5, max_row=7, values_only=True)]
    assert rows == [
        (1, BA_BICH, "Trần Văn Nhứt"),
        (2, MAU_1, "Nguyễn Văn An"),
        (3, MAU_2, "Phạm Thị Đào"),
    ]
    # The sample communes feed only Quý I: their other cells are empty, not "not submitted".
    mau_1 = next(matrix.iter_rows(min_row=6, max_row=6, values_only=True))
    assert mau_1[3:7] == (MAU_1_MISSING, None, None, None)


# --- the weekly digest -------------------------------------------------------------------------


async def test_the_weekly_digest_counts_communes(province: Sessions) -> None:
    async with province() as session:
        tinh = await unit(session, "tinh-quang-ngai")
        text, _ = await digest(session, tinh.id, at(18, 8), "vi")

    # Monday 18/03: Mẫu 1 is late (14/03); Mẫu 2's extension runs to that day, and it has
    # not handed in: "chưa nộp" counts both, as /quahan and /tonghop do.
    line = vi("clerk.digest.overdue_communes", code="CCHC-Q1-2024", share="2/3", rate="chiếm 66,7%")
    assert line in text


async def test_a_commune_whose_clerk_is_on_leave(province: Sessions) -> None:
    async with province() as session, session.begin():
        an = await person(session, "xa-mau-1", "an")
        session.add(
            LeavePeriod(official_id=an.id, starts_on=date(2024, 3, 18), ends_on=date(2024, 3, 20))
        )
    async with province() as session:
        desk = await province_desk(session)
        overdue = await overdue_text(desk, "")
        summary = await summary_text(desk, "CCHC-Q1")

    on_leave = vi("clerk.on_leave_until", date="20/03/2024")
    assert (
        commune(
            MAU_1,
            "Nguyễn Văn An",
            vi("desk.state.overdue", days=5),
            vi("clerk.province.own_due", due="14/03/2024"),
            on_leave,
            vi("clerk.overdue.reminded", count=2),
            vi("clerk.not_submitted"),
        )
        in overdue
    )
    # On leave is a mark on "chưa nộp", which counts Mẫu 1 as /quahan does.
    assert vi("clerk.summary.names", label=vi("clerk.report.missing"), count=2) in summary
    assert (
        summary_commune(
            MAU_1,
            "Nguyễn Văn An",
            vi("desk.state.overdue", days=5),
            vi("clerk.province.own_due", due="14/03/2024"),
            on_leave,
        )
        in summary
    )
