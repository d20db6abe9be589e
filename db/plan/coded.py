"""A plan mistake as data as well as words: a code and its fields, for the catalog to word.

The checks write English for developers (`PlanError`'s text, the tests); the clerk reads
the same mistake in Vietnamese, worded by the handlers from the code (`plan.error.<code>`).
"""

from __future__ import annotations


class Coded(str):
    """An English message that also carries `code` and `data`."""

    code: str
    data: dict[str, str]

    def __new__(cls, message: str, kind: str, **data: object) -> Coded:
        said = super().__new__(cls, message)
        said.code = kind
        said.data = {name: str(value) for name, value in data.items()}
        return said


class PlanValueError(ValueError):
    """A field's value rejected by the schema, with a code (pydantic keeps the exception)."""

    def __init__(self, message: str, kind: str, **data: object) -> None:
        super().__init__(message)
        self.code = kind
        self.data = {name: str(value) for name, value in data.items()}


def code_of(message: object) -> tuple[str, dict[str, str]]:
    """The code and data of a coded message or error; ("", {}) for plain words."""
    if isinstance(message, Coded | PlanValueError):
        return message.code, dict(message.data)
    return "", {}
