"""The conversation: one event from one chat in, replies out, in one transaction.

This module and its flows know nothing of Telegram or any other channel: adapters turn their
updates into `handlers.types` events and render the `Reply` objects they get back.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import audit, conversations, identities, invites
from db.clock import Clock
from db.files import FileStore
from db.models import Obligation, Task
from handlers import (
    callbacks,
    channel_choice,
    command_names,
    figures_flow,
    plan_upload,
    registration,
    reports,
    status,
    submission_checks,
)
from handlers.catalog import DEFAULT_LANGUAGE, LANGUAGES, t
from handlers.clerk import commands as desk_commands
from handlers.clerk.access import may_use_desk
from handlers.free_text import echo
from handlers.invitation import InviteLink, no_link
from handlers.office import office_name
from handlers.presenting import h
from handlers.turn import Turn
from handlers.typed_answers import typed_answer
from handlers.types import (
    ChoiceTapped,
    CommandSent,
    Event,
    FilesSent,
    Reply,
    Sender,
    TextSent,
    UnfetchableFile,
    UnreadableMessage,
)
from handlers.upload_offer import UploadUrl
from handlers.workload_view import tasks_reply

log = logging.getLogger(__name__)

# Our invite codes are 22 characters; a stranger's "hello" is not taken for one.
_MIN_BARE_CODE = 16


class Conversation:
    """Answers events from officials; every change of one event commits together or not at all."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        store: FileStore,
        default_tz: ZoneInfo,
        invite_link: InviteLink = no_link,
        *,
        upload_url: UploadUrl | None = None,
        zalo_bot: str | None = None,
        telegram: bool = True,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.store = store
        self.default_tz = default_tz
        # How /invite shows a code on the channel; the Telegram adapter sets it once the bot
        # knows its name.
        self.invite_link = invite_link
        # The web app's address for one-time upload links; None when it does not run.
        self.upload_url = upload_url
        # Which channels /invite explains: Telegram (its link), Zalo (the bot to search for:
        # its name, or "" while unknown).
        self.telegram = telegram
        self.zalo_bot = zalo_bot

    async def handle(self, sender: Sender, event: Event) -> list[Reply]:
        """The replies to one event; a failure rolls everything back and says so politely."""
        lang = _language(sender.language_hint)
        try:
            async with self.sessionmaker() as session, session.begin():
                turn = await self._turn(session, sender)
                lang = turn.lang
                return await self._dispatch(turn, event)
        except Exception:
            log.exception(
                "could not handle %s from a %s chat", type(event).__name__, sender.channel
            )
            return [Reply(t("error.generic", lang))]

    async def _turn(self, session: AsyncSession, sender: Sender) -> Turn:
        identity = await identities.identity_for(session, sender.channel, sender.external_id)
        if identity is not None and not identity.official.active:
            identity = None
        if identity is None:
            return Turn(
                session,
                sender,
                self.clock.now(),
                self.default_tz,
                _language(sender.language_hint),
                None,
            )
        official = identity.official
        if not identity.reachable:
            # The person wrote to us, so the chat works again.
            identity.reachable = True
            identity.unreachable_reason = None
        # Reminders follow the chat the person used last.
        identity.last_seen_at = self.clock.now()
        return Turn(
            session,
            sender,
            self.clock.now(),
            ZoneInfo(official.unit.timezone),
            official.language,
            identity,
        )

    async def _dispatch(self, turn: Turn, event: Event) -> list[Reply]:
        named = command_names.resolve(event.name) if isinstance(event, CommandSent) else None
        if isinstance(event, CommandSent) and named is not None and named.key == "start":
            return [await registration.start(turn, event.args.strip())]
        if turn.identity is None:
            if isinstance(event, TextSent) and _looks_like_code(event.text):
                # Zalo has no deep links: the person sends the code the clerk gave them.
                return [await registration.start(turn, event.text.strip())]
            # Strangers learn how to register and nothing else about the commune.
            return [Reply(t("register.how", turn.lang, office=office_name(None, turn.lang)))]
        if isinstance(event, CommandSent):
            if named is None:
                return [self._unknown_command(turn, event.name)]
            return await self._command(turn, named.key, event.args)
        if isinstance(event, ChoiceTapped):
            return await self._tap(turn, event.data)
        if isinstance(event, FilesSent):
            return await reports.files_sent(turn, event, self.store, self.upload_url)
        if isinstance(event, UnfetchableFile):
            return await reports.unfetchable_file(turn, event, self.upload_url)
        if isinstance(event, UnreadableMessage):
            return [self._unreadable(turn, event)]
        if not turn.sender.traits.buttons:
            answer = await self._typed_answer(turn, event)
            if isinstance(answer, ChoiceTapped):
                return await self._tap(turn, answer.data)
            if answer is not None:
                return [answer]
        bare = await self._bare_command(turn, event.text)
        if bare is not None:
            return bare
        return [await self._text(turn, event)]

    async def _bare_command(self, turn: Turn, text: str) -> list[Reply] | None:
        """A command word typed without its slash ("nhiemvu", "nộp"), when no flow waits for
        typed words (a reason, a figure, a confirmation): those take the text first."""
        assert turn.identity is not None
        bare = command_names.bare_command(text)
        if bare is None:
            return None
        state = await conversations.current(turn.session, turn.identity.id, turn.now)
        if state is not None and state.kind != reports.AWAIT_FILE:
            return None
        named, args = bare
        return await self._command(turn, named.key, args)

    def _unknown_command(self, turn: Turn, typed: str) -> Reply:
        """A command nobody has: the nearest name when there is one, else the help's name."""
        near = command_names.suggestion(typed, desk=may_use_desk(turn.official))
        if near is None:
            return Reply(t("unknown.command", turn.lang, name=h(echo(typed))))
        return Reply(t("commands.did_you_mean", turn.lang, name=h(echo(typed)), suggestion=near))

    async def _typed_answer(self, turn: Turn, event: TextSent) -> ChoiceTapped | Reply | None:
        assert turn.identity is not None
        state = await conversations.current(turn.session, turn.identity.id, turn.now)
        if figures_flow.is_asking(state):
            # While a figure is asked, "162" or "không" is the figure, not a numbered choice.
            return None
        # While a reason is awaited, words are the reason; only a bare number picks a choice.
        words = state is None or state.kind != status.AWAIT_REASON
        return await typed_answer(turn, event.text, words=words)

    def _unreadable(self, turn: Turn, event: UnreadableMessage) -> Reply:
        audit.record(
            turn.session,
            at=turn.now,
            actor=turn.actor,
            action="message.unreadable",
            unit_id=turn.official.unit_id,
            official=turn.official,
            details={"kind": event.kind},
        )
        return Reply(t("unreadable.message", turn.lang))

    async def _command(self, turn: Turn, name: str, args: str) -> list[Reply]:
        desk = await desk_commands.command(turn, name, args, self._tools())
        if desk is not None:
            return desk
        if name == "help":
            return [Reply(t("help.body", turn.lang))]
        if name == "tasks":
            return [await tasks_reply(turn)]
        if name == "status":
            return [await status.status_command(turn, args)]
        if name == "report":
            return [await reports.report_command(turn)]
        if name == "channel":
            return [await channel_choice.channel_command(turn, args)]
        if name == "cancel":
            return [await self._cancel(turn)]
        if name == "lang":
            return [self._set_language(turn, args.strip().lower())]
        return [self._unknown_command(turn, name)]

    def _tools(self) -> desk_commands.Tools:
        return desk_commands.Tools(
            self.store, self.invite_link, telegram=self.telegram, zalo_bot=self.zalo_bot
        )

    async def _tap(self, turn: Turn, data: str) -> list[Reply]:
        own, bundled = callbacks.unbundled(data)
        replies = await self._tapped(turn, own)
        if bundled:
            # Editing a bundled message would erase its other items: answer below it instead.
            return [replace(reply, edit=False) for reply in replies]
        return replies

    async def _tapped(self, turn: Turn, data: str) -> list[Reply]:
        tap = callbacks.parse(data)
        if isinstance(tap, callbacks.StatusTap):
            if tap.state is None:
                return await reports.report_for_task(turn, tap.task_id, self.upload_url)
            return await status.status_tapped(turn, tap.task_id, tap.state)
        if isinstance(tap, callbacks.ObligationTap):
            return await reports.obligation_tapped(
                turn, tap.obligation_id, self.upload_url, self.store, for_files=tap.for_files
            )
        if isinstance(tap, callbacks.FiguresTap):
            return await figures_flow.tapped(turn, tap.action, tap.submission_id, self.store)
        if isinstance(tap, callbacks.TemplateTap):
            return await reports.template_tapped(turn, tap.file_id, self.store)
        if isinstance(tap, callbacks.TaskTap):
            return await status.task_tapped(turn, tap.task_id)
        if isinstance(tap, callbacks.PlanTap):
            return await plan_upload.plan_tapped(turn, tap.digest, self.store)
        if isinstance(
            tap,
            callbacks.ExtensionTap
            | callbacks.LeaveTap
            | callbacks.LeaveKindTap
            | callbacks.NudgeTap
            | callbacks.ForwardTap,
        ):
            return await desk_commands.tap(turn, tap, self._tools())
        if isinstance(tap, callbacks.CancelTap):
            reply = await self._cancel(turn)
            return [Reply(reply.text, edit=True, notice=reply.text)]
        log.warning("refused unknown choice data from a %s chat", turn.sender.channel)
        return [status.refusal(turn, "refuse.bad_choice")]

    async def _text(self, turn: Turn, event: TextSent) -> Reply:
        assert turn.identity is not None
        state = await conversations.current(turn.session, turn.identity.id, turn.now)
        if state is not None and state.kind == status.AWAIT_REASON:
            return await status.reason_given(
                turn, state.data["status_update_id"], state.data["task_code"], event.text
            )
        # Kept in the audit log, so nothing a person wrote is lost even when not understood.
        audit.record(
            turn.session,
            at=turn.now,
            actor=turn.actor,
            action="message.text",
            unit_id=turn.official.unit_id,
            official=turn.official,
            details={"text": event.text},
        )
        if state is not None and state.kind == reports.AWAIT_FILE:
            subject = await self._awaited_title(turn, state.data)
            return Reply(t("report.waiting_file", turn.lang, title=h(subject)))
        if state is not None and state.kind == figures_flow.AWAIT_FIGURE:
            return await figures_flow.answered(turn, state, event.text)
        if state is not None and state.kind == submission_checks.CONFIRM_TEMPLATE:
            return submission_checks.template_question(state, turn.lang)
        if state is None:
            late = await status.late_reason(turn, event.text)
            if late is not None:
                return late
        return Reply(t("unknown.text", turn.lang))

    async def _awaited_title(self, turn: Turn, data: dict[str, Any]) -> str:
        if "obligation_id" in data:
            obligation = await turn.session.get(Obligation, data["obligation_id"])
            return obligation.title if obligation else ""
        task = await turn.session.get(Task, data["task_id"])
        return task.code if task else ""

    async def _cancel(self, turn: Turn) -> Reply:
        assert turn.identity is not None
        state = await conversations.current(turn.session, turn.identity.id, turn.now)
        await conversations.finish(turn.session, turn.identity.id)
        if state is None:
            return Reply(t("cancel.nothing", turn.lang))
        if state.kind == status.AWAIT_REASON:
            return Reply(t("cancel.reason_dropped", turn.lang))
        if state.kind == figures_flow.AWAIT_FIGURE:
            return figures_flow.cancelled(state, turn.lang)
        if state.kind == submission_checks.CONFIRM_TEMPLATE:
            return Reply(t("checks.template_cancelled", turn.lang))
        return Reply(t("cancel.done", turn.lang))

    def _set_language(self, turn: Turn, wanted: str) -> Reply:
        if wanted not in LANGUAGES:
            return Reply(t("lang.usage", turn.lang))
        official = turn.official
        if official.language != wanted:
            audit.record(
                turn.session,
                at=turn.now,
                actor=turn.actor,
                action="official.language",
                unit_id=official.unit_id,
                official=official,
                details={"from": official.language, "to": wanted},
            )
            official.language = wanted
        return Reply(t("lang.set", wanted))


def _looks_like_code(text: str) -> bool:
    code = text.strip()
    return len(code) >= _MIN_BARE_CODE and invites.is_well_formed(code)


def _language(hint: str | None) -> str:
    if hint and hint.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE
