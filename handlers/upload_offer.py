"""Offering the one-time web upload link in the chat.

A Zalo chat cannot hand the bot a PDF, Word or Excel file, and Telegram lets a bot download
at most 20 MB: the official then gets a link to the web app's upload page, valid for a day,
bound to them and to one report or task, used up by one successful upload.
"""

from __future__ import annotations

from collections.abc import Callable

from db.models import Obligation, Task
from db.web_links import UPLOAD_TTL, create_upload_link
from handlers.catalog import t
from handlers.office import office_name
from handlers.presenting import h
from handlers.turn import Turn

# The absolute URL of the upload page for a token: `{PUBLIC_URL}/u/<token>`.
UploadUrl = Callable[[str], str]


def subject_name(subject: Obligation | Task) -> str:
    """How the chat names what is handed in: a report's title, a task's code."""
    return subject.title if isinstance(subject, Obligation) else subject.code


async def upload_link_text(
    turn: Turn, subject: Obligation | Task, upload_url: UploadUrl | None, reason: str
) -> str:
    """`reason` (why a link) and a fresh link for `subject`; without the web app, the reason
    and what can be sent in the chat instead."""
    if upload_url is None:
        office = office_name(turn.official.unit, turn.lang)
        return f"{reason}\n{t('upload.no_web', turn.lang, office=office)}"
    token = await create_upload_link(turn.session, turn.official, subject, turn.now)
    hours = int(UPLOAD_TTL.total_seconds() // 3600)
    link = t(
        "upload.link",
        turn.lang,
        title=h(subject_name(subject)),
        url=h(upload_url(token)),
        hours=hours,
    )
    return f"{reason}\n{link}"
