"""The officials' flows through the channel-agnostic conversation, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.clock import FixedClock
from db.files import FileStore
from db.invites import create_invite
from db.models import (
    AuditEntry,
    Channel,
    ChannelIdentity,
    ConversationState,
    Invite,
    ObligationAssignee,
    Official,
    StatusUpdate,
    StoredFile,
    Submission,
    TaskState,
)
from handlers.callbacks import CANCEL_DATA, obligation_data, status_data, task_data
from handlers.conversation import Conversation
from handlers.presenting import file_size
from handlers.types import (
    ChoiceTapped,
    CommandSent,
    FilesSent,
    IncomingFile,
    Reply,
    Sender,
    TextSent,
)
from tests.factories import Commune
from tests.sample_files import sample
from tests.wording import days_late, days_left, due_part, en, state, vi

T = TypeVar("T")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AN_CHAT = Sender(Channel.TELEGRAM, "1001", "An")
STRANGER = Sender(Channel.TELEGRAM, "9999", "Ai đó")


def local(day: int, month: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=TZ)


PDF = b"%PDF-1.4 bao cao"


def a_file(name: str, content: bytes | None = None, size: int | None = None) -> IncomingFile:
    """A file sent in the chat: by default a real minimal file of the kind its name says."""
    if content is None:
        content = PDF if name.endswith(".pdf") else sample(name)

    async def fetch() -> bytes:
        return content

    return IncomingFile(
        name=name,
        mime_type="application/pdf",
        size=len(content) if size is None else size,
        fetch=fetch,
        channel_file_id=f"id-{name}",
        channel_file_unique_id=f"u-{name}",
    )


async def invite_code(session: AsyncSession, official: Official, at: datetime) -> str:
    code = await create_invite(session, official, at)
    await session.commit()
    return code


async def register(
    conversation: Conversation, session: AsyncSession, official: Official, sender: Sender
) -> list[Reply]:
    code = await invite_code(session, official, conversation.clock.now())
    return await conversation.handle(sender, CommandSent("start", code))


async def fetch_one(session: AsyncSession, statement: Select[tuple[T]]) -> T | None:
    """Read in a new transaction: SQLite's snapshot would hide what the bot wrote meanwhile."""
    await session.commit()
    return await session.scalar(statement)


async def fetch_all(session: AsyncSession, statement: Select[tuple[T]]) -> list[T]:
    await session.commit()
    return list(await session.scalars(statement))


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await fetch_one(session, select(func.count()).select_from(model)) or 0)


async def test_a_stranger_only_learns_how_to_register(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    events = [
        CommandSent("tasks"),
        CommandSent("start"),
        TextSent("xin chào"),
        ChoiceTapped(status_data(commune.task_24.id, TaskState.DONE)),
        FilesSent([a_file("bc.pdf")]),
    ]
    for event in events:
        (reply,) = await conversation.handle(STRANGER, event)
        assert reply.text == vi("register.how", office=vi("office.default"))
        assert "Ba Bích" not in reply.text and "2.4" not in reply.text
    assert await count(session, StatusUpdate) == 0
    assert await count(session, StoredFile) == 0
    assert await count(session, ChannelIdentity) == 0


@pytest.mark.parametrize("code", ["sai-ma", "x" * 65, "có dấu", "<script>"])
async def test_a_wrong_code_is_refused_politely(
    conversation: Conversation, commune: Commune, session: AsyncSession, code: str
) -> None:
    (reply,) = await conversation.handle(STRANGER, CommandSent("start", code))
    assert reply.text == vi("register.bad_code", office=vi("office.default"))
    assert await count(session, ChannelIdentity) == 0


async def test_registration_binds_the_chat_and_greets_by_name(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    (reply,) = await register(conversation, session, commune.an, AN_CHAT)
    welcome = vi("register.welcome", name="Trần Văn An", unit="UBND xã Ba Bích")
    assert reply.text.startswith(welcome)
    assert vi("summary.counts", tasks=1, reports=2) in reply.text
    assert reply.text.endswith(vi("help.body"))  # says what they can do
    identity = await fetch_one(session, select(ChannelIdentity))
    assert identity is not None and identity.official_id == commune.an.id
    invite = await fetch_one(session, select(Invite))
    assert invite is not None and invite.used_by_identity_id == identity.id
    actions = set(await fetch_all(session, select(AuditEntry.action)))
    assert "identity.bind" in actions

    # /start again: the summary, not a second registration.
    (again,) = await conversation.handle(AN_CHAT, CommandSent("start"))
    assert again.text.startswith(vi("summary.greeting", name="Trần Văn An") + "\n")
    assert vi("summary.counts", tasks=1, reports=2) in again.text
    assert welcome not in again.text


async def test_a_used_or_expired_code_and_a_second_official_are_refused(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    code = await invite_code(session, commune.an, clock.now())
    await conversation.handle(AN_CHAT, CommandSent("start", code))
    (used,) = await conversation.handle(STRANGER, CommandSent("start", code))
    assert used.text == vi("register.bad_code", office=vi("office.default"))

    # A bound chat opening another official's link stays bound to the first one.
    binh_code = await invite_code(session, commune.binh, clock.now())
    (refused,) = await conversation.handle(AN_CHAT, CommandSent("start", binh_code))
    assert refused.text == vi("register.already", name="Trần Văn An")
    invite = await fetch_one(session, select(Invite).where(Invite.official_id == commune.binh.id))
    assert invite is not None and invite.used_at is None  # the code was not consumed

    expired = await invite_code(session, commune.binh, clock.now() - timedelta(days=8))
    (late,) = await conversation.handle(STRANGER, CommandSent("start", expired))
    assert late.text == vi("register.bad_code", office=vi("office.default"))
    assert await count(session, ChannelIdentity) == 1


async def test_tasks_lists_open_work_most_urgent_first(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    clock.set(local(12, 3))
    (reply,) = await conversation.handle(AN_CHAT, CommandSent("nhiemvu"))
    text = reply.text
    assert text.index("CCHC-Q1-2024") < text.index("CCHC-6T-2024") < text.index("<b>2.4</b>")
    assert text.startswith(vi("tasks.header", date="12/03/2024"))
    assert (
        vi(
            "tasks.report_line",
            code="CCHC-Q1-2024",
            title="Báo cáo CCHC Quý I năm 2024",
            due_part=due_part("10/03/2024", days_late(2)),
            role=vi("role.submit"),
            status=vi("tasks.not_submitted"),
        )
        in text
    )
    assert (
        vi(
            "tasks.report_line",
            code="CCHC-6T-2024",
            title="Báo cáo CCHC 6 tháng đầu năm 2024",
            due_part=due_part("10/06/2024", days_left(90)),
            role=vi("role.submit"),
            status=vi("tasks.not_submitted"),
        )
        in text
    )
    # Titles are escaped: the task title contains < > &.
    assert (
        vi(
            "tasks.task_line",
            code="2.4",
            title="Đẩy mạnh số hóa hồ sơ &lt;TTHC&gt; &amp; kết nối dữ liệu dân cư",
            due_part=due_part("30/06/2024", days_left(110)),
            role=vi("role.lead"),
            status=vi("tasks.no_answer"),
        )
        in text
    )
    assert "2.5" not in text  # Bình's task, not An's


async def test_a_status_tap_records_edits_and_answers(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    clock.set(local(8, 3, 9, 15))
    (reply,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.IN_PROGRESS))
    )
    assert reply.edit
    assert reply.notice == vi("status.recorded_notice", state=state("in_progress"))
    assert reply.text.endswith(
        vi("status.recorded", state=state("in_progress"), time="08/03/2024 09:15")
    )
    assert [c.data for row in reply.choices for c in row] == [
        status_data(commune.task_24.id, s)
        for s in (TaskState.DONE, TaskState.IN_PROGRESS, TaskState.BLOCKED, None)
    ]
    update = await fetch_one(session, select(StatusUpdate))
    assert update is not None and update.state is TaskState.IN_PROGRESS
    assert update.at == clock.now()
    (listing,) = await conversation.handle(AN_CHAT, CommandSent("tasks"))
    assert vi("tasks.last_answer", state=state("in_progress"), date="08/03/2024") in listing.text
    audit = await fetch_one(session, select(AuditEntry).where(AuditEntry.action == "status.answer"))
    assert audit is not None and audit.details["state"] == "in_progress"


async def test_blocked_asks_for_a_reason_within_30_minutes(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    replies = await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    assert replies[1].text == vi("status.ask_reason", code="2.4")
    clock.set(clock.now() + timedelta(minutes=10))
    (saved,) = await conversation.handle(AN_CHAT, TextSent("Thiếu máy scan"))
    assert saved.text == vi("status.reason_saved", code="2.4")
    update = await fetch_one(session, select(StatusUpdate))
    assert update is not None and update.note == "Thiếu máy scan"

    # After 30 minutes the next text is no longer taken as a reason: tap "blocked" again.
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    clock.set(clock.now() + timedelta(minutes=31))
    (late,) = await conversation.handle(AN_CHAT, TextSent("quá muộn"))
    assert late.text == vi("status.reason_too_late", code="2.4")
    notes = await fetch_all(session, select(StatusUpdate.note).order_by(StatusUpdate.id))
    assert notes == ["Thiếu máy scan", ""]


async def test_cancel_drops_the_reason_but_keeps_blocked(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(
        AN_CHAT, ChoiceTapped(status_data(commune.task_24.id, TaskState.BLOCKED))
    )
    (cancelled,) = await conversation.handle(AN_CHAT, CommandSent("cancel"))
    assert cancelled.text == vi("cancel.reason_dropped")
    (nothing,) = await conversation.handle(AN_CHAT, CommandSent("cancel"))
    assert nothing.text == vi("cancel.nothing")
    await conversation.handle(AN_CHAT, TextSent("không phải lý do"))
    update = await fetch_one(session, select(StatusUpdate))
    assert update is not None and update.state is TaskState.BLOCKED and update.note == ""


@pytest.mark.parametrize(
    "data",
    ["st:999999:d", "st:1:x", "hello", "ob:abc", "st:1:d:extra", "", "ob:" + "9" * 40],
)
async def test_forged_or_foreign_taps_are_refused(
    conversation: Conversation, commune: Commune, session: AsyncSession, data: str
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (reply,) = await conversation.handle(AN_CHAT, ChoiceTapped(data))
    assert reply.notice and not reply.edit
    assert await count(session, StatusUpdate) == 0


async def test_a_task_of_someone_else_is_refused(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    for data in (
        status_data(commune.task_25.id, TaskState.DONE),
        task_data(commune.task_25.id),
        status_data(commune.task_25.id, None),
    ):
        (reply,) = await conversation.handle(AN_CHAT, ChoiceTapped(data))
        assert reply.text == vi("refuse.not_assigned")
    (by_code,) = await conversation.handle(AN_CHAT, CommandSent("status", "2.5"))
    assert by_code.text == vi("status.unknown_task", code="2.5")
    assert await count(session, StatusUpdate) == 0
    assert await count(session, ConversationState) == 0


async def test_status_command_shows_the_prompt(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (prompt,) = await conversation.handle(AN_CHAT, CommandSent("status", "2.4"))
    assert prompt.text == vi(
        "status.prompt",
        code="2.4",
        title="Đẩy mạnh số hóa hồ sơ &lt;TTHC&gt; &amp; kết nối dữ liệu dân cư",
        due_part=due_part("30/06/2024", days_left(114)),
        status=vi("tasks.no_answer"),
    )
    assert len(prompt.choices) == 2
    (chooser,) = await conversation.handle(AN_CHAT, CommandSent("status"))
    assert [c.data for row in chooser.choices for c in row] == [task_data(commune.task_24.id)]


async def test_report_flow_gives_a_receipt_and_versions(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    clock.set(local(10, 3, 23, 50))
    (chooser,) = await conversation.handle(AN_CHAT, CommandSent("nop"))
    datas = [c.data for row in chooser.choices for c in row]
    assert datas == [
        obligation_data(commune.q1.id),
        obligation_data(commune.six_months.id),
        CANCEL_DATA,
    ]
    (ask,) = await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    assert ask.edit
    assert ask.text == vi(
        "report.send_files",
        title="Báo cáo CCHC Quý I năm 2024",
        start="15/12/2023",
        end="14/03/2024",
    )

    clock.set(local(10, 3, 23, 59))
    (receipt,) = await conversation.handle(
        AN_CHAT, FilesSent([a_file("bao-cao-q1.pdf", b"%PDF-1.4" + b"x" * 2040)])
    )
    assert receipt.text == vi(
        "report.receipt",
        title="Báo cáo CCHC Quý I năm 2024",
        version=1,
        files=vi("report.file_line", name="bao-cao-q1.pdf", size="2,0 KB"),
        time="10/03/2024 23:59",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )

    clock.set(local(13, 3, 8, 0))
    await conversation.handle(AN_CHAT, CommandSent("report"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    (second,) = await conversation.handle(AN_CHAT, FilesSent([a_file("bao-cao-q1-v2.pdf")]))
    assert second.text == vi(
        "report.receipt",
        title="Báo cáo CCHC Quý I năm 2024",
        version=2,
        files=vi("report.file_line", name="bao-cao-q1-v2.pdf", size="16 B"),
        time="13/03/2024 08:00",
        timeliness=vi("report.late", days=3, due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )

    rows = await fetch_all(session, select(Submission).order_by(Submission.version))
    assert [(s.version, s.late_days) for s in rows] == [(1, 0), (2, 3)]
    files = await fetch_all(session, select(StoredFile).order_by(StoredFile.id))
    assert [f.original_name for f in files] == ["bao-cao-q1.pdf", "bao-cao-q1-v2.pdf"]
    assert all(f.submission_id is not None for f in files)
    assert files[0].channel_file_id == "id-bao-cao-q1.pdf"
    stored = conversation.store.path_of(files[0].path)
    assert stored.read_bytes() == b"%PDF-1.4" + b"x" * 2040 and stored.name == files[0].sha256
    assert await count(session, ConversationState) == 0


async def test_a_file_without_report_asks_which_obligation(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (question,) = await conversation.handle(
        AN_CHAT, FilesSent([a_file("a.docx"), a_file("b.xlsx"), a_file("c.jpg")])
    )
    assert question.text == vi("report.which", count=3)
    assert await count(session, StoredFile) == 3  # kept before asking
    assert await count(session, Submission) == 0
    (receipt,) = await conversation.handle(
        AN_CHAT, ChoiceTapped(obligation_data(commune.six_months.id))
    )
    assert (
        vi(
            "report.receipt",
            title="Báo cáo CCHC 6 tháng đầu năm 2024",
            version=1,
            files="\n".join(
                vi("report.file_line", name=name, size=file_size(len(sample(name)), "vi"))
                for name in ("a.docx", "b.xlsx", "c.jpg")
            ),
            time="08/03/2024 08:00",
            timeliness=vi("report.on_time", due="10/06/2024"),
            start="15/12/2023",
            end="14/06/2024",
        )
        == receipt.text
    )
    submission = await fetch_one(session, select(Submission))
    assert submission is not None and submission.obligation_id == commune.six_months.id


async def test_the_only_open_obligation_is_proposed(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    await conversation.handle(AN_CHAT, FilesSent([a_file("q1.pdf")]))
    (question,) = await conversation.handle(AN_CHAT, FilesSent([a_file("khac.pdf")]))
    assert question.text == vi(
        "report.which_one", count=1, title="Báo cáo CCHC 6 tháng đầu năm 2024"
    )


@pytest.mark.parametrize(
    ("name", "size", "reason"),
    [
        ("virus.exe", 10, "report.refused_type"),
        ("bang-tinh.csv", 10, "report.refused_type"),
        ("khong-duoi", 10, "report.refused_type"),
        ("to-qua.pdf", 20 * 1024 * 1024 + 1, "report.refused_size"),
    ],
)
async def test_unacceptable_files_are_refused_and_nothing_is_stored(
    conversation: Conversation,
    commune: Commune,
    session: AsyncSession,
    name: str,
    size: int,
    reason: str,
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    (reply,) = await conversation.handle(AN_CHAT, FilesSent([a_file(name, size=size)]))
    assert reply.text == vi("report.refused", reasons=vi(reason, name=name))
    assert await count(session, StoredFile) == 0
    assert await count(session, Submission) == 0
    assert await count(session, ConversationState) == 1  # still waiting for a good file


async def test_a_failure_rolls_back_and_apologises(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))

    async def broken() -> bytes:
        raise ConnectionError("download failed")

    bad = IncomingFile("q1.pdf", "application/pdf", 10, broken)
    (reply,) = await conversation.handle(AN_CHAT, FilesSent([bad]))
    assert reply.text == vi("error.generic") and "download" not in reply.text
    assert await count(session, Submission) == 0
    assert await count(session, ConversationState) == 1


async def test_language_switch_and_aliases(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    (bad,) = await conversation.handle(AN_CHAT, CommandSent("lang", "fr"))
    assert bad.text == vi("lang.usage")
    (switched,) = await conversation.handle(AN_CHAT, CommandSent("lang", "en"))
    assert switched.text == en("lang.set")
    (listing,) = await conversation.handle(AN_CHAT, CommandSent("nhiemvu"))
    assert listing.text.startswith(en("tasks.header", date="08/03/2024"))
    assert en("tasks.not_submitted") in listing.text
    (help_text,) = await conversation.handle(AN_CHAT, CommandSent("help"))
    assert help_text.text.startswith(en("help.body"))
    assert en("clerk.help.extension") in help_text.text
    (unknown,) = await conversation.handle(AN_CHAT, CommandSent("xoa"))
    assert unknown.text == en("unknown.command", name="xoa")


async def test_unknown_text_is_kept_in_the_audit_log(
    conversation: Conversation, commune: Commune, session: AsyncSession
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    await conversation.handle(AN_CHAT, TextSent("Anh Nhứt ơi, tuần sau em nộp nhé"))
    entry = await fetch_one(session, select(AuditEntry).where(AuditEntry.action == "message.text"))
    assert entry is not None and entry.details["text"] == "Anh Nhứt ơi, tuần sau em nộp nhé"


async def test_the_flow_survives_a_new_conversation_object(
    sessionmaker: async_sessionmaker[AsyncSession],
    commune: Commune,
    session: AsyncSession,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    """A restart between choosing the report and sending the file loses nothing."""
    first = Conversation(sessionmaker, clock, FileStore(tmp_path / "data"), TZ)
    await register(first, session, commune.an, AN_CHAT)
    await first.handle(AN_CHAT, CommandSent("nop"))
    await first.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    second = Conversation(sessionmaker, clock, FileStore(tmp_path / "data"), TZ)
    (receipt,) = await second.handle(AN_CHAT, FilesSent([a_file("q1.pdf")]))
    assert receipt.text == vi(
        "report.receipt",
        title="Báo cáo CCHC Quý I năm 2024",
        version=1,
        files=vi("report.file_line", name="q1.pdf", size="16 B"),
        time="08/03/2024 08:00",
        timeliness=vi("report.on_time", due="10/03/2024"),
        start="15/12/2023",
        end="14/03/2024",
    )
    assert clock.now().tzinfo is UTC


async def test_an_approved_extension_is_the_officials_own_deadline(
    conversation: Conversation, commune: Commune, session: AsyncSession, clock: FixedClock
) -> None:
    await register(conversation, session, commune.an, AN_CHAT)
    row = await fetch_one(
        session,
        select(ObligationAssignee).where(
            ObligationAssignee.obligation_id == commune.q1.id,
            ObligationAssignee.official_id == commune.an.id,
        ),
    )
    assert row is not None
    row.extended_due = date(2024, 3, 20)
    await session.commit()
    clock.set(local(15, 3, 9, 0))
    (listing,) = await conversation.handle(AN_CHAT, CommandSent("nhiemvu"))
    assert due_part("20/03/2024", days_left(5)) in listing.text
    await conversation.handle(AN_CHAT, CommandSent("nop"))
    await conversation.handle(AN_CHAT, ChoiceTapped(obligation_data(commune.q1.id)))
    (receipt,) = await conversation.handle(AN_CHAT, FilesSent([a_file("q1.pdf")]))
    assert vi("report.on_time", due="20/03/2024") in receipt.text
