"""The outbox's vocabulary: what an outbox row is about (subject types) and what it says (kinds).

Every layer writes and reads these strings (the policy and the sweep write them, the desk
writes notices, the dispatcher writes its own notices, the renderer and the desk's "reminded
n times" read them), so they are defined here, once, at the bottom of the layers. They are
stored in `reminders.subject_type` and `reminders.kind`: renaming one is a data migration.
"""

from __future__ import annotations

from typing import Final

# --- subject types: what a row is about (`Reminder.subject_type`, with `subject_id`) ------

OBLIGATION: Final = "obligation"  # a periodic report (`Obligation`)
TASK: Final = "task"  # a standing task (`Task`)
UNIT: Final = "unit"  # a whole unit (the weekly digest)
IDENTITY: Final = "identity"  # a chat identity (the dispatcher's "unreachable" notice)
OFFICIAL: Final = "official"  # a person (the dispatcher's "no chat" notice)

# --- kinds written by the reminder policy --------------------------------------------------

BEFORE_PREFIX: Final = "before_"  # before_7, before_3, before_1: days before the deadline
DUE_DAY: Final = "due_day"
OVERDUE: Final = "overdue"
CHECKIN: Final = "checkin"
ASSIGNED: Final = "assigned"  # one notice to a new assignee after a plan load gave them the subject
DIGEST_PREFIX: Final = "digest_"  # escalation digests: one message per kind, never merged
DIGEST_CLERK: Final = "digest_clerk"
DIGEST_LEADERS: Final = "digest_leaders"

# --- kinds written by the sweep ------------------------------------------------------------

WEEKLY_DIGEST: Final = "weekly_digest"

# --- kinds written by the dispatcher -------------------------------------------------------

UNREACHABLE_NOTICE: Final = "unreachable_notice"

# --- kinds written by the clerk's desk (their text is rendered when written) ---------------

REVIEW_RETURNED: Final = "review_returned"
NUDGE: Final = "nudge"
EXTENSION_REQUEST: Final = "extension_request"
EXTENSION_DECIDED: Final = "extension_decided"
LEAVE_REQUEST: Final = "leave_request"  # about the asker (OFFICIAL), to each decider
LEAVE_DECIDED: Final = "leave_decided"
# What the clerk must hear at once (issue 14), sent at the next working slot, bundled with it:
BLOCKED_NOTICE: Final = "blocked_notice"  # a "vướng mắc" answer and its reason
SUBMISSION_NOTICE: Final = "submission_notice"  # a late submission, or one after /tralai

# --- kinds written when a chat is registered (rendered when written, like the desk's) -----

# An official's account was bound to one more chat: told on each of their other chats (about
# that chat, IDENTITY) and to the unit's clerks (about the official, OFFICIAL).
CHAT_ADDED_NOTICE: Final = "chat_added_notice"
# The payload key naming the one chat (a `ChannelIdentity` id) a row must go to instead of
# the chat that reaches its recipient best: the chat being warned is not the newest one.
TO_CHAT: Final = "to_identity"

# --- kinds written by the web app (rendered when written, like the desk's) ---------------

UPLOAD_RECEIPT: Final = "upload_receipt"  # the receipt of a web upload, sent in the chat

# The reminders that state a due date; an extension makes the pending ones wrong.
DEADLINE_KINDS: Final = (DUE_DAY, OVERDUE)  # and every before_N

# What counts as "reminded" on the desk: the policy's deadline reminders and check-ins and
# the clerk's nudges; digests and notices about reviews and extensions do not.
REMINDER_KINDS: Final = (DUE_DAY, OVERDUE, CHECKIN, NUDGE)


def before_kind(days: int) -> str:
    """The kind of the reminder `days` days before the deadline: ``before_7``."""
    return f"{BEFORE_PREFIX}{days}"


def is_before(kind: str) -> bool:
    """Whether `kind` is a reminder some days before the deadline."""
    return kind.startswith(BEFORE_PREFIX)


def is_digest(kind: str) -> bool:
    """Whether `kind` is an escalation digest (to clerks or leaders)."""
    return kind.startswith(DIGEST_PREFIX)


def is_reminder(kind: str) -> bool:
    """Whether a row of `kind` counts as reminding its recipient (the desk's "reminded n")."""
    return kind in REMINDER_KINDS or is_before(kind)
