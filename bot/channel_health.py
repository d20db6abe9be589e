"""Each channel's last successful API call and last failure, as `/healthz` reports them.

In memory, per process: it says whether *this* process can still reach Telegram or Zalo.
Transports and pollers report every call; nothing here blocks or raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class ChannelStatus:
    """What is known of one channel's API: when it last answered, when it last failed, why."""

    last_ok: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None

    @property
    def failing(self) -> bool:
        """Whether the latest call failed (no success since the last error)."""
        if self.last_error_at is None:
            return False
        return self.last_ok is None or self.last_ok < self.last_error_at


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ChannelHealth:
    """The registry every channel of a process reports into."""

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now
        self._status: dict[str, ChannelStatus] = {}

    def expect(self, channel: str) -> None:
        """Declare a channel this process runs, so `/healthz` lists it before its first call."""
        self._status.setdefault(channel, ChannelStatus())

    def ok(self, channel: str) -> None:
        """A call to `channel`'s API succeeded (or answered "nothing new")."""
        current = self._status.get(channel, ChannelStatus())
        self._status[channel] = ChannelStatus(
            self._now(), current.last_error_at, current.last_error
        )

    def failed(self, channel: str, error: str) -> None:
        """A call failed for a reason of the API or the network; `error` holds no secret."""
        current = self._status.get(channel, ChannelStatus())
        self._status[channel] = ChannelStatus(current.last_ok, self._now(), error[:200])

    def snapshot(self) -> dict[str, ChannelStatus]:
        """Every channel's status, by channel name."""
        return dict(self._status)
