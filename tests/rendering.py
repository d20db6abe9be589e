"""A dispatcher renderer made from a function of one row, for tests that script messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from db.models import Reminder
from handlers.types import Reply
from scheduler.dispatch import Rendered, Renderer


def per_row(render: Callable[[Reminder], Reply | None]) -> Renderer[Reply]:
    """A batch renderer that calls `render` for each row; an exception stops the whole batch,
    as a failing query would (the dispatcher then renders row by row)."""

    async def batch(rows: Sequence[Reminder]) -> list[Rendered[Reply]]:
        return [render(row) for row in rows]

    return batch
