"""`demo.json`: what a demo folder remembers between runs besides its database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from handlers.catalog import DEFAULT_LANGUAGE

STATE_FILE = "demo.json"


@dataclass
class DemoState:
    """The simulated time, the speaking chat, the language, the strangers made so far, and
    whether the phones are Zalo chats."""

    clock: datetime
    chat: str
    lang: str
    strangers: int = 0
    zalo: bool = False

    @classmethod
    def read(cls, path: Path) -> DemoState | None:
        """The saved state, or None when there is none (or it cannot be read)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            clock = datetime.fromisoformat(data["clock"])
            if clock.tzinfo is None:
                return None
            lang = data.get("lang", DEFAULT_LANGUAGE)
            return cls(
                clock.astimezone(UTC),
                str(data["chat"]),
                lang if lang in ("vi", "en") else DEFAULT_LANGUAGE,
                int(data.get("strangers", 0)),
                data.get("zalo") is True,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        """Save the state; written aside and renamed so a crash never leaves half a file."""
        data = {
            "clock": self.clock.isoformat(),
            "chat": self.chat,
            "lang": self.lang,
            "strangers": self.strangers,
            "zalo": self.zalo,
        }
        spare = path.with_suffix(".tmp")
        spare.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        spare.replace(path)
