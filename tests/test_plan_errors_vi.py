"""Every coded mistake of a YAML plan reads in Vietnamese, without the checker's English words
(issue 16): schema validators, whole-plan checks, the reporting calendar, reading the file
and pydantic's own type checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from db.plan import CalendarError, PlanError, expand_reports, parse_plan, read_plan
from db.plan.source import _LENGTH_CODES, _TYPE_CODES
from handlers.catalog import message_keys
from handlers.plan_errors import plan_error_text

# The smallest plan the loader accepts: one official, one task, one yearly report.
MINIMAL = """\
unit:
  code: xa-mau
  name: UBND xã Mẫu
officials:
  - key: an
    name: Nguyễn Văn An
    department: Văn phòng
tasks:
  - code: "1.1"
    title: Rà soát thủ tục hành chính
    lead: [an]
reports:
  - code: BC-Q1
    kind: cchc
    title: Báo cáo CCHC quý I năm {year}
    due: FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10
    years: 2024
    window:
      start: {day: 15, month: 12, year: -1}
      end: {day: 14, month: 3}
    submitters: {roles: [official]}
    collector: an
"""

UNIT = "  name: UBND xã Mẫu\n"
TASK = "    lead: [an]\n"
REPORT = "    collector: an\n"
RATIO = (
    "    indicators:\n"
    "      - {code: nhan, label: Hồ sơ tiếp nhận, combine: sum}\n"
    "      - {code: mang, label: Hồ sơ trực tuyến, combine: sum}\n"
)


@dataclass(frozen=True)
class Case:
    """A broken minimal plan: `old` becomes `new`; the error's code and Vietnamese words."""

    code: str
    old: str
    new: str
    words: str


def add(anchor: str, lines: str) -> tuple[str, str]:
    """(old, new) that adds `lines` after the line `anchor`."""
    return anchor, anchor + lines


CASES = [
    # Times and office hours.
    Case("bad_time", *add(UNIT, '  calendar: {office_hours: "07:00-25:00"}\n'), "giờ hợp lệ"),
    Case("hours_unquoted", *add(UNIT, "  calendar: {office_hours: 7:30}\n"), "dấu nháy kép"),
    Case("bad_hours", *add(UNIT, "  calendar: {office_hours: 7h sáng}\n"), "ghi chưa đúng"),
    Case(
        "hours_backwards",
        *add(UNIT, '  calendar: {office_hours: "17:30-07:00"}\n'),
        "giờ kết thúc (07:00) sớm hơn giờ bắt đầu (17:30)",
    ),
    # Keys and codes.
    Case("code_unquoted", 'code: "1.1"', "code: 1.1", 'ghi trong dấu nháy kép, ví dụ "1.1"'),
    Case("not_text", "lead: [an]", "lead: [[an]]", "không phải là chữ"),
    Case("bad_key", "key: an", "key: An Nguyen", "mã «An Nguyen» không hợp lệ"),
    Case("bad_code", 'code: "1.1"', 'code: "1 1"', "số hiệu «1 1» không hợp lệ"),
    Case("bad_kind", "kind: cchc", "kind: CCHC", "loại báo cáo «CCHC» không hợp lệ"),
    # Recurrence rules.
    Case("rule_not_text", "due: FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10", "due: 25", "quy tắc lặp"),
    Case("rule_empty", "due: FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10", 'due: ""', "để trống"),
    Case(
        "rule_extra_lines",
        "due: FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=10",
        'due: "DTSTART:20240101;FREQ=YEARLY"',
        "không ghi DTSTART",
    ),
    Case("bad_rule", *add(TASK, "    checkin: FREQ=WEEKLY;BYDAY=XX\n"), "ghi chưa đúng"),
    Case("rule_frequency", *add(TASK, "    checkin: FREQ=HOURLY\n"), "tính theo ngày"),
    Case("rule_times", *add(TASK, "    checkin: FREQ=WEEKLY;BYHOUR=8\n"), "không ghi giờ"),
    Case(
        "rule_month",
        *add(TASK, "    checkin: FREQ=YEARLY;BYMONTH=13;BYMONTHDAY=1\n"),
        "không phải là tháng",
    ),
    Case("rule_never", *add(TASK, "    checkin: FREQ=MONTHLY;BYMONTHDAY=32\n"), "không tháng nào"),
    Case(
        "rule_never_in_months",
        *add(TASK, "    checkin: FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\n"),
        "không có ngày 30",
    ),
    Case(
        "rule_count_until",
        "BYMONTHDAY=10\n",
        "BYMONTHDAY=10;COUNT=2\n",
        "bỏ COUNT và UNTIL",
    ),
    Case(
        "rule_no_date_soon",
        *add(TASK, "    checkin: FREQ=YEARLY;BYMONTHDAY=29;BYDAY=MO;BYMONTH=2\n"),
        "trong 10 năm tới",
    ),
    # Years and templates.
    Case("bad_years", "years: 2024", "years: 2024 đến 2026", "khoảng năm"),
    Case("years_range", "years: 2024", 'years: "2026-2024"', "năm đầu trước năm cuối"),
    Case("template_path", *add(REPORT, '    templates: [""]\n'), "đường dẫn tệp mẫu"),
    Case(
        "template_absolute", *add(REPORT, "    templates: [/etc/mau.docx]\n"), "đường dẫn tuyệt đối"
    ),
    # The unit and its people.
    Case("own_parent", *add(UNIT, "  parent: xa-mau\n"), "cấp trên của chính mình"),
    Case("unknown_timezone", *add(UNIT, "  timezone: Asia/Hanoi\n"), "múi giờ"),
    Case(
        "role_twice",
        *add("    department: Văn phòng\n", "    roles: [official, official]\n"),
        "vai trò",
    ),
    # Indicators and titles.
    Case(
        "bad_cell",
        *add(REPORT, RATIO.replace("combine: sum}\n", 'combine: sum, cell: "6C"}\n', 1)),
        "ô bảng tính",
    ),
    Case(
        "ratio_needs_parts",
        *add(REPORT, RATIO + "      - {code: tl, label: Tỷ lệ, combine: ratio, numerator: mang}\n"),
        "tử số (numerator) và mẫu số (denominator)",
    ),
    Case(
        "parts_only_for_ratio",
        *add(REPORT, RATIO + "      - {code: tl, label: Tổng, combine: sum, numerator: mang}\n"),
        "không phải tỷ lệ",
    ),
    Case(
        "ratio_no_cell",
        *add(
            REPORT,
            RATIO + "      - {code: tl, label: Tỷ lệ, combine: ratio, numerator: mang,"
            " denominator: nhan, cell: C5}\n",
        ),
        "được tính ra",
    ),
    Case(
        "better_only_for_ratio",
        *add(REPORT, RATIO + "      - {code: tl, label: Tổng, combine: sum, better: lower}\n"),
        "không ghi mục better",
    ),
    Case(
        "indicator_twice",
        *add(REPORT, RATIO + "      - {code: nhan, label: Lần nữa, combine: sum}\n"),
        "khai báo hai lần",
    ),
    Case(
        "ratio_part_not_summed",
        *add(
            REPORT,
            RATIO + "      - {code: tl, label: Tỷ lệ, combine: ratio, numerator: tra,"
            " denominator: nhan}\n",
        ),
        "«tra» không phải chỉ tiêu cộng",
    ),
    Case("title_braces", "năm {year}", "năm {year", "dấu ngoặc nhọn"),
    Case("title_placeholder", "năm {year}", "năm {nam}", "chỉ được dùng {year} để điền năm"),
    # Whole-plan checks.
    Case(
        "also_day_off",
        *add(UNIT, "  calendar: {days_off: [04/05/2024], working_days: [04/05/2024]}\n"),
        "vừa là ngày làm bù vừa là ngày nghỉ",
    ),
    Case(
        "makeup_on_weekday",
        *add(UNIT, "  calendar: {working_days: [06/05/2024]}\n"),
        "thứ Bảy hoặc Chủ nhật",
    ),
    Case(
        "checkin_from_alone",
        *add(TASK, "    checkin_from: 01/03/2024\n"),
        "chưa ghi lịch hỏi tiến độ",
    ),
    Case("nobody_named", "{roles: [official]}", "{}", "chưa ghi ai phải nộp"),
    Case("no_such_department", "{roles: [official]}", "{departments: [Y tế]}", "bộ phận «Y tế»"),
    Case("listed_twice", "{roles: [official]}", "{roles: [official, official]}", "ghi hai lần"),
    # The reporting calendar.
    Case(
        "no_such_day",
        "start: {day: 15, month: 12, year: -1}",
        "start: {day: 31, month: 6}",
        "không có ngày 31/06/2024",
    ),
    Case(
        "due_none_in_year",
        "BYMONTH=3;BYMONTHDAY=10\n    years: 2024",
        "BYMONTH=2;BYMONTHDAY=29\n    years: 2025",
        "năm 2025 không có ngày nào",
    ),
    Case("due_many_in_year", "BYMONTHDAY=10\n", "BYMONTHDAY=10,20\n", "10/03/2024, 20/03/2024"),
    Case(
        "window_backwards",
        "end: {day: 14, month: 3}",
        "end: {day: 14, month: 3, year: -1}",
        "ngày kết thúc (14/03/2023) trước ngày bắt đầu (15/12/2023)",
    ),
    # Reading the file.
    Case("yaml_syntax", "  name: UBND xã Mẫu\n", "  name: UBND: xã: Mẫu\n", "cú pháp YAML"),
    Case(
        "yaml_syntax_from", "  name: UBND xã Mẫu\n", "  name: [UBND xã Mẫu\n", "bắt đầu từ dòng 3"
    ),
    Case(
        "field_twice", "    lead: [an]\n", "    lead: [an]\n    lead: [an]\n", "dòng 11 và dòng 12"
    ),
    # pydantic's own checks.
    Case("not_integer", *add(UNIT, "  percent_decimals: hai\n"), "không phải số nguyên"),
    Case("not_yes_no", *add(TASK, "    priority: có lẽ\n"), "ghi true (có) hoặc false (không)"),
    Case("not_text", "title: Rà soát thủ tục hành chính", "title: [a, b]", "không phải là chữ"),
    Case("not_list", "lead: [an]", "lead: an", "dạng danh sách"),
    Case("not_mapping", "start: {day: 15, month: 12, year: -1}", "start: 15/12", "tên: giá trị"),
    Case("empty_text", "name: Nguyễn Văn An", 'name: ""', "không được để trống"),
    Case("text_too_long", "department: Văn phòng", "department: " + "x" * 201, "tối đa 200 ký tự"),
    Case("too_few", "officials:\n  - key: an", "officials: []\nx:\n  - key: an", "ít nhất 1 mục"),
]


def broken(case: Case) -> PlanError:
    assert MINIMAL.count(case.old) == 1, case.old
    with pytest.raises(PlanError) as caught:
        parse_plan(MINIMAL.replace(case.old, case.new), "ke-hoach.yaml")
    return caught.value


def test_the_minimal_plan_loads() -> None:
    assert parse_plan(MINIMAL, "ke-hoach.yaml").spec.unit.code == "xa-mau"


@pytest.mark.parametrize("case", CASES, ids=[f"{case.code}:{case.new[:30]}" for case in CASES])
def test_each_mistake_reads_in_vietnamese(case: Case) -> None:
    error = broken(case)
    vietnamese = plan_error_text(error, "vi")
    assert error.code == case.code, (error.code, str(error))
    assert case.words in vietnamese, vietnamese
    # The English words stay in the exception for developers, never in the clerk's line.
    assert error.message not in vietnamese
    assert f"plan.error.{case.code}" in message_keys("en")


def test_every_schema_and_check_message_has_a_code() -> None:
    # Without a code the clerk would read the checker's English inside the Vietnamese line.
    for path in ("db/plan/schema.py", "db/plan/checks.py", "db/plan/calendar.py"):
        source = (Path(__file__).parent.parent / path).read_text(encoding="utf-8")
        assert "raise ValueError(" not in source, path


@pytest.mark.parametrize(
    ("code", "make", "words"),
    [
        ("no_such_file", lambda d: d / "khong-co.yaml", "không tìm thấy tệp"),
        ("cannot_read", lambda d: d, "không đọc được tệp"),
        ("not_utf8", lambda d: write(d, b"unit: \xff\xfe\n"), "bảng mã UTF-8"),
        ("file_empty", lambda d: write(d, b"\n"), "tệp trống"),
        ("not_a_plan", lambda d: write(d, b"- a\n- b\n"), "không đúng mẫu kế hoạch"),
    ],
)
def test_a_file_that_cannot_be_read_reads_in_vietnamese(
    code: str, make: Callable[[Path], Path], words: str, tmp_path: Path
) -> None:
    with pytest.raises(PlanError) as caught:
        read_plan(make(tmp_path))
    assert caught.value.code == code
    vietnamese = plan_error_text(caught.value, "vi")
    assert words in vietnamese and caught.value.message not in vietnamese


def write(directory: Path, content: bytes) -> Path:
    path = directory / "ke-hoach.yaml"
    path.write_bytes(content)
    return path


def test_two_reports_making_one_instance_read_in_vietnamese() -> None:
    # A file cannot get here (its duplicate report codes are refused first): only code can.
    report = parse_plan(MINIMAL, "x.yaml").spec.reports[0]
    with pytest.raises(CalendarError) as caught:
        expand_reports([report, report], None)
    error = PlanError(
        "x.yaml", 15, "reports[1].code", caught.value.message, caught.value.code, caught.value.data
    )
    assert error.code == "obligation_twice"
    assert "kỳ báo cáo «BC-Q1-2024» bị trùng" in plan_error_text(error, "vi")


def test_pydantic_types_are_worded_in_both_languages() -> None:
    for code in {*_TYPE_CODES.values(), *_LENGTH_CODES.values(), "empty_text"}:
        assert f"plan.error.{code}" in message_keys("vi"), code
        assert f"plan.error.{code}" in message_keys("en"), code


def test_every_plan_error_key_exists_in_both_languages() -> None:
    vi = {key for key in message_keys("vi") if key.startswith("plan.error.")}
    en = {key for key in message_keys("en") if key.startswith("plan.error.")}
    assert vi == en
