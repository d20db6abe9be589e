"""What a channel hands to the conversation logic, and what it gets back.

`Reply` is the one message type a channel delivers: an answer to whoever spoke, and every
outbox message (reminders, digests, notices) as the renderer makes it. Its text is a small
HTML subset (<b>, <i>, <code>) with every user-supplied string escaped; channels without
formatting strip the tags and unescape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from db.models import Channel


@dataclass(frozen=True)
class ChannelTraits:
    """What a channel can carry, as far as the conversation must know it.

    * `buttons`: choices are tapped; without them they are numbered lines answered by typing
      the number (or the choice's word), and the channel records what it numbered.
    * `documents_in_chat`: a document sent in the chat reaches the bot; without it (Zalo)
      documents are handed in through a one-time upload link, and only photos come in chat.
    * `max_download_bytes`: the largest file the bot can fetch from the chat; a larger one
      goes through the upload link too.
    """

    buttons: bool = True
    documents_in_chat: bool = True
    max_download_bytes: int = 20 * 1024 * 1024


TELEGRAM_TRAITS = ChannelTraits()
ZALO_TRAITS = ChannelTraits(buttons=False, documents_in_chat=False)


@dataclass(frozen=True)
class Sender:
    """Who spoke: a chat on a channel."""

    channel: Channel
    external_id: str
    display_name: str = ""
    language_hint: str | None = None
    traits: ChannelTraits = TELEGRAM_TRAITS


@dataclass(frozen=True)
class CommandSent:
    """A /command with its (possibly empty) argument text; `name` is lower-case, no slash."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class TextSent:
    """Plain text that is not a command."""

    text: str


@dataclass(frozen=True)
class ChoiceTapped:
    """A tap on a choice the bot offered; `data` is whatever the channel carried back."""

    data: str


class FileTooBig(Exception):
    """Raised by `IncomingFile.fetch` when the channel refuses to hand the file over for its
    size, whatever size it declared (Telegram's getFile: "file is too big")."""


@dataclass(frozen=True)
class IncomingFile:
    """A file the person sent; `fetch` downloads its bytes through the channel (raising
    `FileTooBig` when the channel will not, for the file's size)."""

    name: str
    mime_type: str
    size: int | None
    fetch: Callable[[], Awaitable[bytes]] = field(repr=False, compare=False)
    channel_file_id: str | None = None
    channel_file_unique_id: str | None = None
    is_photo: bool = False


@dataclass(frozen=True)
class FilesSent:
    """One or more files sent together (an album is one `FilesSent`)."""

    files: Sequence[IncomingFile]
    caption: str = ""


@dataclass(frozen=True)
class UnfetchableFile:
    """A file arrived that the channel cannot hand to the bot (Zalo: PDF, Word, Excel)."""

    name: str = ""


@dataclass(frozen=True)
class UnreadableMessage:
    """Something the bot cannot read: a sticker, a voice message; `kind` says which."""

    kind: str


Event = CommandSent | TextSent | ChoiceTapped | FilesSent | UnfetchableFile | UnreadableMessage


@dataclass(frozen=True)
class Choice:
    """A one-tap answer; `data` is a short ASCII id (Telegram allows 64 bytes)."""

    label: str
    data: str


@dataclass(frozen=True)
class OutgoingFile:
    """A stored file to hand back to the person."""

    name: str
    path: str  # absolute path on disk, used when the channel file id no longer works
    channel_file_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to one person: a reply, or an outbox message.

    `edit` asks the channel to replace the message whose choice was tapped instead of sending
    a new one; `notice` is the short acknowledgement of a tap (a toast on Telegram). Neither
    applies to outbox messages, which answer no tap.
    """

    text: str
    choices: Sequence[Sequence[Choice]] = ()
    files: Sequence[OutgoingFile] = ()
    edit: bool = False
    notice: str | None = None
