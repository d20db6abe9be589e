"""Figures read from the report's appendix (.xlsx) by each indicator's cell, on both databases:
the round trip of a filled copy of the example's template, the receipt that echoes them and the
one-tap confirm, malformed cells named, and the web upload's receipt."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.figures import Figure, Indicator, figures_of, indicators_of
from db.files import FileStore
from db.kinds import UPLOAD_RECEIPT
from db.models import Obligation, Reminder, Submission, SubmissionFigure
from db.submissions import ReceivedFile
from db.web_links import create_upload_link
from handlers import callbacks
from handlers.appendix import NO_SHEET, UNREADABLE, problem_text, read_appendix, split_cell
from handlers.conversation import Conversation
from handlers.figures_flow import APPENDIX, CHAT, CONFIRM
from handlers.indicators import format_number
from handlers.presenting import file_size
from handlers.types import ChoiceTapped, CommandSent, FilesSent, IncomingFile, Reply, TextSent
from handlers.uploads import accept_upload
from tests.conftest import ROOT
from tests.factories import Commune, build_commune
from tests.sample_files import office_open_xml
from tests.test_conversation import AN_CHAT, TZ, a_file, count, fetch_all, fetch_one, register
from tests.test_figures_chat import CCHC_INDICATORS, Q1, datas, line, question
from tests.wording import vi

TEMPLATE = ROOT / "examples" / "templates" / "cchc" / "phu-luc.xlsx"
SHEET = "Phụ lục"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The seed's figures as an official fills them in: 162 of 376 online, 51 of 376 late, 48,4%
# digitised; typed as numbers, and as Vietnamese text where a cell is formatted as text.
FILLED: dict[str, object] = {
    "C5": 162,
    "D5": 376,
    "C6": 51,
    "D6": "376",
    "C7": "1.210",
    "D7": "2.500",
}
READ = {
    "hs_truc_tuyen": Figure(Decimal(162)),
    "hs_tiep_nhan": Figure(Decimal(376)),
    "hs_tre_han": Figure(Decimal(51)),
    "hs_giai_quyet": Figure(Decimal(376)),
    "hs_so_hoa": Figure(Decimal(1210)),
    "hs_can_so_hoa": Figure(Decimal(2500)),
}
ECHO = "\n".join(
    [
        line("Hồ sơ TTHC tiếp nhận trực tuyến", "162 hồ sơ"),
        line("Tổng số hồ sơ TTHC tiếp nhận", "376 hồ sơ"),
        line("Tỷ lệ hồ sơ tiếp nhận trực tuyến", "43,1%"),
        line("Hồ sơ TTHC giải quyết trễ hẹn", "51 hồ sơ"),
        line("Tổng số hồ sơ TTHC đã giải quyết", "376 hồ sơ"),
        line("Tỷ lệ hồ sơ trễ hẹn", "13,56%"),
        line("Hồ sơ, kết quả giải quyết TTHC được số hóa", "1.210 hồ sơ"),
        line("Tổng số hồ sơ, kết quả cần số hóa", "2.500 hồ sơ"),
        line("Tỷ lệ số hóa hồ sơ", "48,4%"),
    ]
)
KHO_KHAN = [CCHC_INDICATORS[-1]]
Q1_RECEIPT = {
    "title": "Báo cáo CCHC Quý I năm 2024",
    "version": 1,
    "time": "08/03/2024 08:00",
    "timeliness": vi("report.on_time", due="10/03/2024"),
    "start": "15/12/2023",
    "end": "14/03/2024",
}
ASKED_CCHC = [i for i in CCHC_INDICATORS if i["combine"] != "ratio"]


def filled_appendix(cells: dict[str, object], sheet: str = SHEET) -> bytes:
    """A copy of the example's appendix template with `cells` filled in, as openpyxl saves it."""
    workbook = openpyxl.load_workbook(TEMPLATE)
    worksheet = workbook[sheet]
    for cell, value in cells.items():
        worksheet[cell] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_cached_formula(content: bytes, cell: str, formula: str, cached: str) -> bytes:
    """The workbook with `cell` a formula whose value Excel computed and saved (`cached`):
    openpyxl writes formulas without a value, Excel writes both."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                written = f'<c r="{cell}"><f>{formula}</f><v></v></c>'
                assert written.encode() in data
                data = data.replace(
                    written.encode(), f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>'.encode()
                )
            target.writestr(item, data)
    return out.getvalue()


def an_xlsx(name: str, content: bytes) -> IncomingFile:
    async def fetch() -> bytes:
        return content

    return IncomingFile(name=name, mime_type=XLSX, size=len(content), fetch=fetch)


@pytest.fixture
async def commune(session: AsyncSession) -> Commune:
    commune = await build_commune(session)
    commune.q1.indicators = CCHC_INDICATORS
    await session.commit()
    return commune


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "data")


@pytest.fixture
def conversation(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FixedClock, store: FileStore
) -> Conversation:
    return Conversation(sessionmaker, clock, store, TZ)


async def hand_in(
    conversation: Conversation, commune: Commune, *files: IncomingFile
) -> list[Reply]:
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(callbacks.obligation_data(commune.q1.id)))
    return await conversation.handle(AN_CHAT, FilesSent(list(files)))


async def the_submission(session: AsyncSession) -> Submission:
    submission = await fetch_one(session, select(Submission))
    assert submission is not None
    return submission


# ------------------------------------------------------------------ reading


def indicators() -> list[Indicator]:
    return indicators_of(Obligation(indicators=CCHC_INDICATORS))


def with_cells(where: Callable[[str], str]) -> list[Indicator]:
    """The indicators with each cell reference rewritten from its bare cell ("C5")."""
    raw = [
        {**i, "cell": where(i["cell"].split("!")[1])} if i.get("cell") else i
        for i in CCHC_INDICATORS
    ]
    return indicators_of(Obligation(indicators=raw))


def test_a_filled_appendix_reads_back_to_the_same_figures(tmp_path: Path) -> None:
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(filled_appendix(FILLED))
    reading = read_appendix(path, "phu-luc.xlsx", indicators())
    assert reading.ok and reading.figures == READ

    # Figures written as the bot shows them come back unchanged: the round trip.
    shown = {
        "C5": format_number(Decimal("1234.5"), "vi"),
        "D5": format_number(Decimal(376), "vi"),
        "C6": "12,5",
        "D6": 376.0,
        "C7": 0.1,
        "D7": "2.500",
    }
    path.write_bytes(filled_appendix(shown))
    again = read_appendix(path, "phu-luc.xlsx", indicators())
    assert again.ok
    assert again.figures["hs_truc_tuyen"] == Figure(Decimal("1234.5"))
    assert again.figures["hs_tre_han"] == Figure(Decimal("12.5"))
    assert again.figures["hs_giai_quyet"] == Figure(Decimal(376))
    assert again.figures["hs_so_hoa"] == Figure(Decimal("0.1"))


def test_a_formula_is_read_as_excel_computed_it(tmp_path: Path) -> None:
    content = with_cached_formula(
        filled_appendix({**FILLED, "D5": "=C5+214"}), "D5", "C5+214", "376"
    )
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(content)
    assert read_appendix(path, "phu-luc.xlsx", indicators()).figures == READ


@pytest.mark.parametrize(
    ("cells", "key", "params"),
    [
        ({"C6": "abc"}, "figures.cell_not_number", {"cell": "C6", "value": "abc"}),
        ({"D7": None}, "figures.cell_empty", {"cell": "D7"}),
        ({"C5": -3}, "figures.cell_negative", {"cell": "C5", "value": "-3"}),
        ({"D5": True}, "figures.cell_not_number", {"cell": "D5", "value": "True"}),
    ],
)
def test_a_malformed_cell_is_named(
    tmp_path: Path, cells: dict[str, object], key: str, params: dict[str, str]
) -> None:
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(filled_appendix({**FILLED, **cells}))
    reading = read_appendix(path, "phu-luc.xlsx", indicators())
    assert not reading.ok
    (problem,) = reading.problems
    assert problem_text(problem, "vi") == vi(key, sheet=SHEET, **params)


def test_the_brief_s_own_wording_of_a_bad_cell(tmp_path: Path) -> None:
    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(filled_appendix({**FILLED, "C6": "abc"}))
    (problem,) = read_appendix(path, "phu-luc.xlsx", indicators()).problems
    assert problem_text(problem, "vi") == vi(
        "figures.cell_not_number", cell="C6", sheet="Phụ lục", value="abc"
    )


def test_sheets_cells_and_files_the_reader_cannot_use(tmp_path: Path) -> None:
    assert split_cell("Phụ lục!C5") == ("Phụ lục", "C5")
    assert split_cell("'Phụ lục'!$D$7") == ("Phụ lục", "D7")
    assert split_cell("c5") == (None, "C5")

    path = tmp_path / "phu-luc.xlsx"
    path.write_bytes(filled_appendix(FILLED))
    # No sheet named: the first; a sheet named in other accents' form or case: found.
    assert read_appendix(path, "x.xlsx", with_cells(lambda cell: cell)).figures == READ
    assert read_appendix(path, "x.xlsx", with_cells(lambda cell: f"PHU LUC!{cell}")).ok
    moved = with_cells(lambda cell: "Bảng 2!C5" if cell == "C5" else f"{SHEET}!{cell}")
    reading = read_appendix(path, "x.xlsx", moved)
    assert [(p.kind, p.sheet) for p in reading.problems] == [(NO_SHEET, "Bảng 2")]

    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert [p.kind for p in read_appendix(broken, "hong.xlsx", indicators()).problems] == [
        UNREADABLE
    ]


# ------------------------------------------------------------------ in the chat


async def test_the_receipt_echoes_the_appendix_and_one_tap_records_it(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    content = filled_appendix(FILLED)
    receipt, figures = await hand_in(
        conversation, commune, a_file("bao-cao-q1.pdf"), an_xlsx("phu-luc-q1.xlsx", content)
    )
    submission = await the_submission(session)
    # The receipt is the receipt; the figures read follow it, to confirm with one tap.
    files = "\n".join(
        [
            vi("report.file_line", name="bao-cao-q1.pdf", size="16 B"),
            vi("report.file_line", name="phu-luc-q1.xlsx", size=file_size(len(content), "vi")),
        ]
    )
    assert receipt.text == vi("report.receipt", **Q1_RECEIPT, files=files)
    assert not receipt.choices
    assert figures.text == "\n".join(
        [
            vi("figures.appendix_read", file="phu-luc-q1.xlsx", lines=ECHO),
            vi("figures.appendix_confirm"),
        ]
    )
    assert datas(figures) == [
        callbacks.figures_data(APPENDIX, submission.id),
        callbacks.figures_data(CHAT, submission.id),
    ]
    assert await count(session, SubmissionFigure) == 0  # only once confirmed

    # Confirmed: the numbers are kept; the words the appendix has no cell for are asked.
    (more,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(APPENDIX, submission.id))
    )
    intro = vi("figures.intro", title=Q1, count=1)
    assert more.text == "\n".join(
        [vi("figures.appendix_saved_more", count=1), intro, question(1, 1, KHO_KHAN)]
    )
    await session.commit()
    assert await figures_of(session, submission.id) == READ

    (summary,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy quét"))
    assert ECHO in summary.text
    (saved,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(callbacks.figures_data(CONFIRM, submission.id))
    )
    expected_lines = f"{ECHO}\n{line('Khó khăn, vướng mắc, đề xuất', 'Thiếu máy quét')}"
    assert saved.text == vi("figures.saved", title=Q1, version=1, lines=expected_lines)
    await session.commit()
    assert await figures_of(session, submission.id) == {
        **READ,
        "kho_khan": Figure(text="Thiếu máy quét"),
    }
    assert set(await fetch_all(session, select(SubmissionFigure.source))) == {"appendix"}


async def test_an_appendix_covering_every_figure_is_recorded_at_once(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    commune.q1.indicators = CCHC_INDICATORS[:-1]
    await session.commit()
    await register(conversation, session, commune.an, AN_CHAT)
    _receipt, figures = await hand_in(
        conversation, commune, an_xlsx("pl.xlsx", filled_appendix(FILLED))
    )
    submission = await the_submission(session)
    (saved,) = await conversation.handle(AN_CHAT, ChoiceTapped(figures.choices[0][0].data))
    assert saved.text == vi("figures.saved", title=Q1, version=1, lines=ECHO)
    assert not saved.edit  # the receipt above stays as it was
    await session.commit()
    assert await figures_of(session, submission.id) == READ


async def test_enter_in_chat_instead_of_the_appendix(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    _receipt, figures = await hand_in(
        conversation, commune, an_xlsx("pl.xlsx", filled_appendix(FILLED))
    )
    (first,) = await conversation.handle(AN_CHAT, ChoiceTapped(figures.choices[0][1].data))
    assert first.text.endswith(question(1, 7, ASKED_CCHC))


async def test_a_malformed_appendix_names_the_cell_and_the_chat_asks(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    content = filled_appendix({**FILLED, "C6": "abc", "D7": None})
    receipt, first = await hand_in(conversation, commune, an_xlsx("phu-luc.xlsx", content))
    problems = "\n".join(
        [
            "• " + vi("figures.cell_not_number", cell="C6", sheet=SHEET, value="abc"),
            "• " + vi("figures.cell_empty", cell="D7", sheet=SHEET),
        ]
    )
    assert not receipt.choices and "phu-luc.xlsx" in receipt.text
    intro = vi("figures.intro", title=Q1, count=7)
    assert first.text == "\n".join(
        [
            vi("figures.appendix_problems", file="phu-luc.xlsx", lines=problems),
            intro,
            question(1, 7, ASKED_CCHC),
        ]
    )
    assert await count(session, SubmissionFigure) == 0
    assert await count(session, Submission) == 1  # handed in all the same


async def test_a_file_that_is_no_workbook_is_said_so(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    _receipt, first = await hand_in(
        conversation, commune, an_xlsx("hong.xlsx", office_open_xml("xlsx", "<khong phai"))
    )
    assert first.text.startswith(
        vi(
            "figures.appendix_problems",
            file="hong.xlsx",
            lines="• " + vi("figures.unreadable", file="hong.xlsx"),
        )
    )


# ------------------------------------------------------------------ through the web


def received(store: FileStore, name: str, content: bytes) -> ReceivedFile:
    sha256, path = store.put(content)
    return ReceivedFile(name=name, mime_type=XLSX, size=len(content), sha256=sha256, path=path)


async def test_a_web_upload_shows_the_figures_and_the_chat_confirms_them(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    clock: FixedClock,
    store: FileStore,
) -> None:
    commune.q1.indicators = CCHC_INDICATORS[:-1]
    await session.commit()
    await register(conversation, session, commune.an, AN_CHAT)
    token = await create_upload_link(session, commune.an, commune.q1, clock.now())
    files = [received(store, "phu-luc.xlsx", filled_appendix(FILLED))]
    result = await accept_upload(session, token, files, clock.now(), store=store)
    await session.commit()
    assert result.receipt is not None
    assert vi("figures.appendix_read", file="phu-luc.xlsx", lines=ECHO) in result.receipt
    assert result.receipt.endswith(vi("figures.web_confirm"))

    notice = await fetch_one(session, select(Reminder).where(Reminder.kind == UPLOAD_RECEIPT))
    assert notice is not None
    submission = await the_submission(session)
    assert notice.payload["text"].endswith(vi("figures.appendix_confirm"))
    tap = callbacks.figures_data(APPENDIX, submission.id)
    assert notice.payload["choices"][0][0]["data"] == tap

    (saved,) = await conversation.handle(AN_CHAT, ChoiceTapped(tap))
    assert saved.text == vi("figures.saved", title=Q1, version=1, lines=ECHO)
    await session.commit()
    assert await figures_of(session, submission.id) == READ


async def test_a_web_upload_without_an_appendix_offers_the_chat(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    clock: FixedClock,
    store: FileStore,
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    token = await create_upload_link(session, commune.an, commune.q1, clock.now())
    pdf = store.put(b"%PDF-1.4 bao cao")
    files = [ReceivedFile("bc.pdf", "application/pdf", 16, pdf[0], pdf[1])]
    # Without the store (as before the web app passes it) nothing is read: the same offer.
    result = await accept_upload(session, token, files, clock.now())
    await session.commit()
    assert result.receipt is not None
    assert result.receipt.endswith(vi("figures.web_ask", count=7))
    notice = await fetch_one(session, select(Reminder).where(Reminder.kind == UPLOAD_RECEIPT))
    assert notice is not None
    assert notice.payload["text"].endswith(vi("figures.offer_chat", count=7))
    (choice,) = notice.payload["choices"][0]
    submission = await the_submission(session)
    assert choice["data"] == callbacks.figures_data(CHAT, submission.id)

    (first,) = await conversation.handle(AN_CHAT, ChoiceTapped(choice["data"]))
    assert first.text.endswith(question(1, 7, ASKED_CCHC))
