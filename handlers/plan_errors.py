"""The plan's mistakes in the reader's language: a YAML file's one error, a workbook's many.

`db.plan` names each mistake by a code and its data (`PlanError.code`,
`WorkbookProblem.code`); a mistake it has no code for keeps the checker's English words.
"""

from __future__ import annotations

from db.plan.source import PlanError
from db.plan.workbook import WorkbookError, WorkbookProblem
from handlers.catalog import message_keys, t


def _known(key: str, language: str) -> bool:
    return key in message_keys(language) or key in message_keys("vi")


def _plan_message(code: str, data: dict[str, str], english: str, language: str) -> str:
    key = f"plan.error.{code}"
    if code and _known(key, language):
        return t(key, language, **data)
    return english


def plan_error_text(error: PlanError, language: str) -> str:
    """ "file, dòng 180: Nhiệm vụ 2.3 (tasks[2].due): ngày «31/02/2024» không hợp lệ"."""
    message = _plan_message(error.code, error.data, error.message, language)
    if error.subject is not None and error.field:
        kind, name = error.subject
        subject = t(f"plan.subject.{kind}", language, name=name).strip()
        what = t("plan.error.about", language, subject=subject, field=error.field, message=message)
    elif error.field:
        what = t("plan.error.field", language, field=error.field, message=message)
    else:
        what = message
    if error.line is None:
        return t("plan.error.where_file", language, file=error.filename, what=what)
    return t("plan.error.where_line", language, file=error.filename, line=error.line, what=what)


def problem_text(problem: WorkbookProblem, language: str) -> str:
    """ "Nhiệm vụ, dòng 7, cột Chủ trì: không có cán bộ tên «Cuờng» — có phải «Cường»?"."""
    key = f"plan.workbook.{problem.code}"
    if _known(key, language):
        what = t(key, language, **problem.data)
    else:
        message = _plan_message(problem.code, problem.data, problem.message, language)
        what = message
        if problem.field and message == problem.message:
            what = t("plan.workbook.with_field", language, message=message, field=problem.field)
    if problem.sheet is None:
        return t("plan.workbook.unplaced", language, what=what)
    if problem.row is None:
        return t("plan.workbook.sheet", language, sheet=problem.sheet, what=what)
    if problem.column is None:
        return t("plan.workbook.row", language, sheet=problem.sheet, row=problem.row, what=what)
    return t(
        "plan.workbook.cell",
        language,
        sheet=problem.sheet,
        row=problem.row,
        column=problem.column,
        what=what,
    )


def workbook_error_lines(error: WorkbookError, file: str, language: str) -> list[str]:
    """The heading and one line per mistake, in the order of the sheets and rows."""
    lines = [t("plan.workbook.problems", language, file=file, count=len(error.problems))]
    return lines + [f"• {problem_text(problem, language)}" for problem in error.problems]
