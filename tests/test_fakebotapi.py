"""The fake Bot API, driven by a real python-telegram-bot ``Bot`` and ``Application``.

These tests pin down that the fake answers the way Telegram does, so end-to-end tests of the
bot built on it exercise the same PTB code paths (and exceptions) as production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebotapi import FakeBotApi, parse_html
from tests.fakebotapi.html_check import EntityParseError, strip_text


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with server.make_bot() as real_bot:
        yield real_bot


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"Nút {d}", callback_data=d)] for d in data])


# --------------------------------------------------------------------------- the whole loop


async def test_application_polls_echoes_and_answers_taps_then_tears_down_cleanly() -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Bạn viết: {update.effective_message.text}", reply_markup=_keyboard("done:1")
        )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Xin chào</b> &lt;3")

    async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã ghi nhận")
        await query.edit_message_text(f"Đã xong: {query.data}")

    async with FakeBotApi() as server:
        app: Application = server.application_builder().build()  # type: ignore[type-arg]
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(CallbackQueryHandler(tapped))
        await app.initialize()
        assert [r.method for r in server.requests] == ["getMe"]
        assert app.bot.username == "nhacviec_test_bot"
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            user = server.add_user(first_name="Trần Thị Bình")

            command = server.user_sends_command(user.id, "start")
            greeting = await server.wait_for_message(
                user.id, after=command["message"]["message_id"]
            )
            assert greeting.plain_text == "Xin chào <3"
            assert greeting.entities == [{"type": "bold", "offset": 0, "length": 8}]

            sent = server.user_sends_text(user.id, "Nộp báo cáo tháng 3")
            reply = await server.wait_for_message(user.id, after=sent["message"]["message_id"])
            assert reply.text == "Bạn viết: Nộp báo cáo tháng 3"
            assert reply.callback_data() == ["done:1"]
            assert reply.reply_to_message_id is None

            tap = server.user_presses(user.id, reply.message_id, "Nút done:1")
            answer = await server.wait_for_answer(tap)
            assert (answer.text, answer.data) == ("Đã ghi nhận", "done:1")
            edited = await server.wait_for(
                lambda: server.message(user.id, reply.message_id).edit_date is not None
            )
            assert edited
            assert server.message(user.id, reply.message_id).text == "Đã xong: done:1"
            assert server.message(user.id, reply.message_id).reply_markup is None
            assert server.unanswered_callbacks() == []
            await server.wait_until_delivered()
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()

    # Nothing of the bot or the server may outlive the test.
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []
    assert all("token" not in str(r.params) for r in server.requests)


async def test_requests_are_logged_decoded_and_without_token(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    await bot.send_message(user.id, "Hạn nộp", reply_markup=_keyboard("a"))
    call = server.requests_for("sendmessage")[-1]
    assert call.ok
    assert call.params["chat_id"] == user.id
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Nút a", "callback_data": "a"}]]
    }
    assert server.token not in repr(server.requests)


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_limit_and_long_poll(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    first = server.user_sends_text(user.id, "một")
    server.user_sends_text(user.id, "hai")
    server.user_sends_text(user.id, "ba")

    batch = await bot.get_updates(limit=2)
    assert [u.message.text for u in batch if u.message] == ["một", "hai"]
    # Confirming by offset drops what came before it.
    batch = await bot.get_updates(offset=first["update_id"] + 2)
    assert [u.message.text for u in batch if u.message] == ["ba"]
    assert await bot.get_updates(offset=batch[-1].update_id + 1, timeout=0) == ()

    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()  # type: ignore[arg-type]
    assert time.monotonic() - started >= 0.25

    # A long poll returns as soon as an update arrives.
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    # The update must come while the poll waits, or the poll would return it at once anyway.
    await server.wait_for(lambda: server.polling)
    server.user_sends_text(user.id, "bốn")
    batch = await asyncio.wait_for(poll, 2)  # well before the poll's own 5 s
    assert [u.message.text for u in batch if u.message] == ["bốn"]


async def test_allowed_updates_filters_update_types(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    message = await bot.send_message(user.id, "Chọn", reply_markup=_keyboard("x"))
    server.user_sends_text(user.id, "chữ")
    server.user_taps(user.id, message.message_id, "x")
    batch = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in batch if u.callback_query] == ["x"]
    assert all(u.message is None for u in batch)


async def test_a_second_poller_terminates_the_first_with_conflict(
    server: FakeBotApi, bot: Bot
) -> None:
    # Two bot processes polling with one token: the older long poll is cut off.
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda: server.polling)  # the first poll is waiting on the server
    async with server.make_bot() as twin:
        second = asyncio.create_task(twin.get_updates(timeout=0))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)
        assert await second == ()


# --------------------------------------------------------------------------- files


async def test_document_downloads_byte_identical(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    content = bytes(range(256)) * 100
    update = server.user_sends_document(
        user.id, "Báo cáo quý I.xlsx", content, "application/vnd.ms-excel", caption="Quý I"
    )
    document = update["message"]["document"]
    assert document["file_name"] == "Báo cáo quý I.xlsx"

    file = await bot.get_file(document["file_id"])
    assert file.file_unique_id == document["file_unique_id"]
    assert file.file_size == len(content)
    assert file.file_path is not None and file.file_path.endswith("documents/file_1.xlsx")
    assert bytes(await file.download_as_bytearray()) == content

    big = server.user_sends_document(user.id, "ảnh quét.pdf", b"%PDF", file_size=21 * 2**20)
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big["message"]["document"]["file_id"])
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("no-such-file")


async def test_file_download_needs_the_right_token(server: FakeBotApi, bot: Bot) -> None:
    update = server.user_sends_document(server.add_user().id, "a.txt", b"abc")
    file = await bot.get_file(update["message"]["document"]["file_id"])
    assert file.file_path is not None
    # PTB maps both 401 and 404 of a download to InvalidToken.
    with pytest.raises(InvalidToken):
        await bot.request.retrieve(file.file_path.replace(server.token, "987654321:wrong"))
    with pytest.raises(InvalidToken):
        await bot.request.retrieve(file.file_path.replace("file_1", "file_99"))


async def test_photo_sizes_grow_and_the_biggest_is_the_file(server: FakeBotApi, bot: Bot) -> None:
    content = b"\xff\xd8" + b"x" * 4000
    update = server.user_sends_photo(server.add_user().id, content, caption="Biên bản")
    sizes = update["message"]["photo"]
    assert len(sizes) == 3
    assert [s["file_size"] for s in sizes] == sorted(s["file_size"] for s in sizes)
    assert [s["width"] for s in sizes] == sorted(s["width"] for s in sizes)
    biggest = await bot.get_file(sizes[-1]["file_id"])
    assert bytes(await biggest.download_as_bytearray()) == content


async def test_bot_uploads_and_resends_by_file_id(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    sent = await bot.send_document(
        user.id,
        b"noi dung",
        filename="Kế hoạch 2024.docx",
        caption="<i>Kế hoạch</i>",
        parse_mode=ParseMode.HTML,
    )
    assert sent.document is not None
    assert sent.document.file_name == "Kế hoạch 2024.docx"
    assert sent.caption == "Kế hoạch"
    assert [f.file_name for f in server.uploaded_files] == ["Kế hoạch 2024.docx"]
    assert server.file_content(sent.document.file_id) == b"noi dung"

    again = await bot.send_document(user.id, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == sent.document.file_unique_id

    photo = await bot.send_photo(user.id, b"\xff\xd8jpeg")
    with pytest.raises(BadRequest, match="Type of file mismatch"):
        await bot.send_document(user.id, photo.photo[-1].file_id)
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(user.id, "BQAC-unknown")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(user.id, b"x", filename="x.txt", caption="c" * 1025)
    await bot.send_document(user.id, b"x", filename="x.txt", caption="c" * 1024)


# --------------------------------------------------------------------------- validation


async def test_text_length_counts_characters_after_html_parsing(
    server: FakeBotApi, bot: Bot
) -> None:
    user = server.add_user()
    await bot.send_message(user.id, "ệ" * 4096)
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(user.id, "x" * 4097)
    assert server.requests[-1].description == "Bad Request: message is too long"
    # Markup does not count: 4096 visible characters inside tags are fine.
    await bot.send_message(user.id, "<b>" + "x" * 4095 + "</b>&amp;", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "&lt;" * 4097, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(user.id, "")
    with pytest.raises(BadRequest, match=r"^Text must be non-empty$"):
        await bot.send_message(user.id, "<b> </b>\n", parse_mode=ParseMode.HTML)


async def test_html_parse_mode_like_telegram(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    ok = await bot.send_message(
        user.id,
        '<b>Hạn chót</b>: nộp "Báo cáo &lt;Quý I&gt;" &amp; ký tên 📝 '
        '<a href="https://dichvucong.gov.vn">tại đây</a> &#272;&#x1EA1;t',
        parse_mode=ParseMode.HTML,
    )
    assert ok.text == 'Hạn chót: nộp "Báo cáo <Quý I>" & ký tên 📝 tại đây Đạt'
    link = ok.entities[-1]
    assert (link.type, link.url) == ("text_link", "https://dichvucong.gov.vn")
    # Entity offsets are UTF-16 (the emoji counts twice); PTB slices them back correctly.
    assert ok.parse_entity(link) == "tại đây"

    cases = {
        "a < b": 'Unsupported start tag "" at byte offset 2',
        "<b>đậm</i>": 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"',
        "<b>đậm": 'Can\'t find end tag corresponding to start tag "b"',
        "<script>x</script>": 'Unsupported start tag "script" at byte offset 0',
        "<span>x</span>": 'Tag "span" must have class "tg-spoiler" at byte offset 0',
    }
    for text, reason in cases.items():
        with pytest.raises(BadRequest, match="Can't parse entities"):
            await bot.send_message(user.id, text, parse_mode=ParseMode.HTML)
        assert server.requests[-1].description == f"Bad Request: can't parse entities: {reason}"
    # Stricter than Telegram on purpose: a stray '&' means a name was not html.escape()d.
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(user.id, "Phòng Tài chính & Kế hoạch", parse_mode=ParseMode.HTML)
    assert "Character '&' at byte offset 19" in str(server.requests[-1].description)
    # Without parse_mode the same characters are plain text.
    plain = await bot.send_message(user.id, "a < b & c")
    assert plain.text == "a < b & c"
    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await bot.send_message(user.id, "x", parse_mode="Html5")


async def test_callback_data_is_limited_in_bytes(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    await bot.send_message(user.id, "ok", reply_markup=_keyboard("x" * 64, "ệ" * 21))
    for data in ("ệ" * 22, "x" * 65):  # 66 and 65 bytes
        with pytest.raises(BadRequest):
            await bot.send_message(user.id, "quá dài", reply_markup=_keyboard(data))
        assert server.requests[-1].description == "Bad Request: BUTTON_DATA_INVALID"
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(user.id, "rỗng", reply_markup=_keyboard(""))
    with pytest.raises(BadRequest, match=r"(?i)is invalid: wrong http url"):
        await bot.send_message(
            user.id,
            "url",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", url="not-a-url")]]),
        )
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(user.id, "nhiều", reply_markup=_keyboard(*map(str, range(101))))


async def test_unreachable_chats_raise_the_errors_ptb_maps(server: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(424242, "ai đó")

    blocked = server.add_user()
    server.block(blocked.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(blocked.id, "nhắc việc")

    stranger = server.add_user(started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "chào")
    server.user_sends_command(stranger.id, "start")
    await bot.send_message(stranger.id, "chào")

    group = server.add_group(title="Văn phòng UBND")
    new_id = server.migrate(group.id)
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(group.id, "họp")
    assert migrated.value.new_chat_id == new_id
    assert (
        server.requests[-1].description
        == "Bad Request: group chat was upgraded to a supergroup chat"
    )
    await bot.send_message(new_id, "họp")

    # The block also reached the bot as a my_chat_member update, as on Telegram.
    updates = await bot.get_updates()
    assert [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member] == [
        "kicked"
    ]


async def test_edits_and_callback_answers(server: FakeBotApi, bot: Bot) -> None:
    user = server.add_user()
    message = await bot.send_message(
        user.id, "<b>Việc 1</b>", parse_mode=ParseMode.HTML, reply_markup=_keyboard("v1")
    )
    # The same visible text written differently is still "not modified".
    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await bot.edit_message_text(
            "<strong>Việc 1</strong>",
            user.id,
            message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=_keyboard("v1"),
        )
    await bot.edit_message_reply_markup(user.id, message.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(user.id, message.message_id, reply_markup=None)
    await bot.edit_message_text("Việc 1 ✅", user.id, message.message_id)
    stored = server.message(user.id, message.message_id)
    assert stored.text == "Việc 1 ✅"
    assert [h["text"] for h in stored.history] == ["<b>Việc 1</b>", "<b>Việc 1</b>"]
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", user.id, 999)

    tap = server.user_taps(user.id, message.message_id, "v1")
    query_id = tap["callback_query"]["id"]
    assert server.unanswered_callbacks() == [query_id]
    await bot.answer_callback_query(query_id, "Xong", show_alert=True)
    assert server.answered_callbacks[-1].show_alert
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    assert server.user_taps(user.id, message.message_id, "v1")["callback_query"]["id"] != query_id


async def test_bot_commands_are_validated(server: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("viec_cua_toi", "Việc của tôi")]
    assert await bot.set_my_commands(commands)
    assert server.my_commands == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "viec_cua_toi", "description": "Việc của tôi"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "viec_cua_toi"]
    await bot.set_my_commands([BotCommand("bao_cao", "Báo cáo")], scope=BotCommandScopeChat(-5))
    assert server.commands_for({"type": "chat", "chat_id": -5}) == [
        {"command": "bao_cao", "description": "Báo cáo"}
    ]

    bad = {
        "Start": "BOT_COMMAND_INVALID",
        "bắt_đầu": "BOT_COMMAND_INVALID",
        "x" * 33: "BOT_COMMAND_INVALID",
        "": "command must be non-empty",
    }
    for command, description in bad.items():
        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand(command, "mô tả")])
        assert server.requests[-1].description == f"Bad Request: {description}"
    with pytest.raises(BadRequest, match="Command description must be non-empty"):
        await bot.set_my_commands([BotCommand("start", "")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("start", "d" * 257)])
    await bot.set_my_commands([BotCommand("x" * 32, "d" * 256)])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    assert await bot.delete_my_commands()
    assert server.my_commands == []


# --------------------------------------------------------------------------- failures


async def test_injected_failures(
    server: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB_TIMEDELTA: RetryAfter.retry_after is a timedelta without a deprecation warning.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = server.add_user()
    server.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(user.id, "x")
    assert flood.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]

    server.fail_next("sendMessage", status=502, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as gateway:
            await bot.send_message(user.id, "x")
        assert not isinstance(gateway.value, BadRequest)
    server.fail_next("sendMessage", status=502, raw_body=b"<html>502 Bad Gateway</html>")
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "x")
    server.fail_next("sendMessage", status=400, migrate_to_chat_id=-1001234)
    with pytest.raises(ChatMigrated):
        await bot.send_message(user.id, "x")
    await bot.send_message(user.id, "x")  # the queue is used up
    assert len(server.sent_messages(user.id)) == 1


async def test_delayed_answer_times_out_but_the_message_was_delivered(server: FakeBotApi) -> None:
    user = server.add_user()
    server.delay_next("sendMessage", 0.5)
    async with server.make_bot() as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "nhắc việc", read_timeout=0.1)
    assert [m.text for m in server.sent_messages(user.id)] == ["nhắc việc"]


async def test_rate_limits(server: FakeBotApi, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    first, second = server.add_user(), server.add_user()
    server.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    await bot.send_message(first.id, "1")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(first.id, "2")
    assert flood.value.retry_after.total_seconds() == 1  # type: ignore[union-attr]
    assert server.requests[-1].status == 429
    await bot.send_message(second.id, "khác chat")

    # scale=10: windows ten times shorter, retry_after in fractions of a second.
    server.enforce_limits(per_chat_per_second=1, scale=10)
    await bot.send_message(first.id, "3")
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(first.id, "4")
    assert 0 < flood.value.retry_after.total_seconds() <= 0.1  # type: ignore[union-attr]
    await asyncio.sleep(0.11)
    await bot.send_message(first.id, "4")

    group = server.add_group()
    server.enforce_limits(per_chat_per_second=100, group_per_minute=2, scale=60)
    await bot.send_message(group.id, "a")
    await bot.send_message(group.id, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(group.id, "c")


async def test_token_and_unknown_methods(server: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": 1})
    assert server.requests[-1].status == 404
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with Bot("987654321:AAwrong", base_url=server.base_url):
            pass
    assert server.requests_for("getMe")[-1].ok  # only our bot's call was logged


# --------------------------------------------------------------------------- HTML parser


def test_html_parser_matches_tdlib_messages_and_offsets() -> None:
    parsed = parse_html("<b><i>Lê</i></b> 😀<u>x</u>")
    assert parsed.text == "Lê 😀x"
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "italic", "offset": 0, "length": 2},
        {"type": "underline", "offset": 5, "length": 1},
    ]
    pre = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre.entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    quote = parse_html("<blockquote expandable>dài</blockquote>")
    assert quote.entities[0]["type"] == "expandable_blockquote"
    spoiler = parse_html('<span class="tg-spoiler">bí mật</span><tg-spoiler>!</tg-spoiler>')
    assert [e["type"] for e in spoiler.entities] == ["spoiler", "spoiler"]
    assert parse_html("A & B", strict_ampersand=False).text == "A & B"
    assert parse_html("&#97;&#x62;&quot;").text == 'ab"'

    with pytest.raises(EntityParseError) as unmatched:
        parse_html("<b><i>test</b></i>")
    assert str(unmatched.value) == (
        'Unmatched end tag at byte offset 10, expected "</i>", found "</b>"'
    )
    with pytest.raises(EntityParseError, match="Invalid custom emoji identifier specified"):
        parse_html('<tg-emoji emoji-id="abc">x</tg-emoji>')

    trimmed = strip_text(parse_html("\n  <b>Hạn</b> nộp  \n"))
    assert trimmed.text == "Hạn nộp"
    assert trimmed.entities == [{"type": "bold", "offset": 0, "length": 3}]


# --------------------------------------------------------------------------- injection details


async def test_injected_updates_look_like_telegrams(server: FakeBotApi, bot: Bot) -> None:
    clerk = server.add_user(first_name="Lan", username="lan_vp")
    group = server.add_group(title="Văn phòng UBND", members=[clerk])
    command = server.user_sends_command(group.id, "giao_viec", "Hạn 15/3", mention_bot=True)
    message = command["message"]
    assert message["text"] == "/giao_viec@nhacviec_test_bot Hạn 15/3"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 28}]
    assert message["from"]["language_code"] == "vi"
    assert message["chat"] == {"id": group.id, "type": "group", "title": "Văn phòng UBND"}

    # An album: one update per file, same media_group_id, caption only on the first.
    first = server.user_sends_document(
        clerk.id, "1.pdf", b"1", caption="Hồ sơ", media_group_id="g1"
    )
    second = server.user_sends_document(clerk.id, "2.pdf", b"2", media_group_id="g1")
    assert second["update_id"] == first["update_id"] + 1
    assert second["message"]["message_id"] == first["message"]["message_id"] + 1
    updates = await bot.get_updates(offset=first["update_id"])
    albums = [u.message for u in updates if u.message and u.message.media_group_id == "g1"]
    assert [m.caption for m in albums] == ["Hồ sơ", None]


async def test_wait_for_gives_up_with_the_recent_requests(server: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(server.add_user().id, "x")
    with pytest.raises(TimeoutError, match=r"last requests: \[getMe->200, sendMessage->200\]"):
        await server.wait_for(lambda: server.pending_updates > 0, timeout=0.2)
