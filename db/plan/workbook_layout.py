"""The plan as a clerk keeps it in Excel: sheet names, column headers and the words of cells.

These are the format itself, like the YAML field names, not messages: a workbook reads the
same whatever language the bot speaks. The reader (`db.plan.workbook`) and the writer
(`handlers.plan_workbook`) both take them from here. See docs/ke-hoach.md.
"""

from __future__ import annotations

from typing import Final

UNIT: Final = "Đơn vị"
PEOPLE: Final = "Cán bộ"
TASKS: Final = "Nhiệm vụ"
REPORTS: Final = "Báo cáo"
CALENDAR: Final = "Lịch"
INDICATORS: Final = "Chỉ tiêu"
OUTLINE: Final = "Đề cương"

# The sheets that make a workbook a plan (a report's appendix has neither).
PLAN_SHEETS: Final = (TASKS, PEOPLE)

# Đơn vị: one setting a row — its label, its value, and the YAML field it stands for.
UNIT_COLUMNS: Final = ("Mục", "Giá trị", "Trường (YAML)")
UNIT_ROWS: Final = (
    ("Mã đơn vị", "code"),
    ("Tên đơn vị", "name"),
    ("Tên văn phòng", "office_name"),
    ("Báo cáo lên", "reports_to"),
    ("Mã đơn vị cấp trên", "parent"),
    ("Múi giờ", "timezone"),
    ("Giờ làm việc", "office_hours"),
    ("Hạn trùng ngày nghỉ", "deadline_on_day_off"),
    ("Số chữ số thập phân của tỉ lệ", "percent_decimals"),
    ("Dữ liệu mẫu", "sample"),
)

# Nhiệm vụ: the clerk's seven columns first, then what the bot also keeps.
TASK_CODE, TASK_TITLE, TASK_LEAD, TASK_COORDINATE, TASK_DUE = (
    "STT",
    "Nội dung",
    "Chủ trì",
    "Phối hợp",
    "Thời hạn",
)
TASK_PRODUCT, BASIS_NUMBER, BASIS_DATE, BASIS_ISSUER = (
    "Sản phẩm",
    "Căn cứ: số",
    "Căn cứ: ngày",
    "Căn cứ: cơ quan ban hành",
)
TASK_DETAIL, TASK_SOURCE, TASK_CHECKIN, TASK_CHECKIN_FROM, TASK_PRIORITY, TASK_ILLUSTRATIVE = (
    "Chi tiết",
    "Nguồn",
    "Hỏi tiến độ",
    "Hỏi tiến độ từ",
    "Trọng tâm",
    "Phân công minh họa",
)
TASK_COLUMNS: Final = (
    TASK_CODE,
    TASK_TITLE,
    TASK_LEAD,
    TASK_COORDINATE,
    TASK_DUE,
    TASK_PRODUCT,
    BASIS_NUMBER,
    BASIS_DATE,
    BASIS_ISSUER,
    TASK_DETAIL,
    TASK_SOURCE,
    TASK_CHECKIN,
    TASK_CHECKIN_FROM,
    TASK_PRIORITY,
    TASK_ILLUSTRATIVE,
)

# Cán bộ: a row a person; a row with only "Nghỉ từ"/"đến" adds a leave period to the one above.
PERSON_NAME, PERSON_POSITION, PERSON_DEPARTMENT, PERSON_ROLES = (
    "Họ tên",
    "Chức vụ",
    "Bộ phận",
    "Vai trò",
)
LEAVE_FROM, LEAVE_TO, LEAVE_NOTE = ("Nghỉ từ", "đến", "Lý do nghỉ")
PERSON_KEY, PERSON_LANGUAGE, PERSON_ACTIVE, PERSON_SAMPLE = (
    "Mã",
    "Ngôn ngữ",
    "Đang công tác",
    "Dữ liệu mẫu",
)
PERSON_COLUMNS: Final = (
    PERSON_NAME,
    PERSON_POSITION,
    PERSON_DEPARTMENT,
    PERSON_ROLES,
    LEAVE_FROM,
    LEAVE_TO,
    LEAVE_NOTE,
    PERSON_KEY,
    PERSON_LANGUAGE,
    PERSON_ACTIVE,
    PERSON_SAMPLE,
)

# Báo cáo: the clerk's eight columns, then the rest of a periodic report.
REPORT_TITLE, REPORT_CODE, REPORT_DUE, WINDOW_FROM, WINDOW_TO = (
    "Tên",
    "Mã",
    "Hạn nộp",
    "Số liệu từ",
    "đến",
)
REPORT_SUBMITTERS, REPORT_COLLECTOR, REPORT_TEMPLATES = ("Người nộp", "Nộp về", "Mẫu")
REPORT_KIND, REPORT_YEARS, REPORT_FORWARD_TO, REPORT_FORWARD_DUE, REPORT_CHASE = (
    "Loại",
    "Năm",
    "Chuyển lên báo cáo",
    "Hạn chuyển lên",
    "Nhắc trễ hạn (ngày)",
)
REPORT_COLUMNS: Final = (
    REPORT_TITLE,
    REPORT_CODE,
    REPORT_DUE,
    WINDOW_FROM,
    WINDOW_TO,
    REPORT_SUBMITTERS,
    REPORT_COLLECTOR,
    REPORT_TEMPLATES,
    REPORT_KIND,
    REPORT_YEARS,
    REPORT_FORWARD_TO,
    REPORT_FORWARD_DUE,
    REPORT_CHASE,
)

# Lịch: a day a row, a day off or a make-up working day.
DAY, DAY_KIND = ("Ngày", "Loại")
CALENDAR_COLUMNS: Final = (DAY, DAY_KIND)
DAY_OFF, MAKE_UP_DAY = ("nghỉ", "làm bù")

# Chỉ tiêu and Đề cương: rows of the reports named in the first column (several, one list).
OF_REPORTS = "Báo cáo"
IND_CODE, IND_LABEL, IND_UNIT, IND_COMBINE, IND_NUMERATOR, IND_DENOMINATOR = (
    "Mã",
    "Tên",
    "Đơn vị tính",
    "Cách tính",
    "Tử số",
    "Mẫu số",
)
IND_DECIMALS, IND_CELL, IND_BETTER = ("Số chữ số thập phân", "Ô", "Tỉ lệ tốt khi")
INDICATOR_COLUMNS: Final = (
    OF_REPORTS,
    IND_CODE,
    IND_LABEL,
    IND_UNIT,
    IND_COMBINE,
    IND_NUMERATOR,
    IND_DENOMINATOR,
    IND_DECIMALS,
    IND_CELL,
    IND_BETTER,
)
HEADING = "Mục"
OUTLINE_COLUMNS: Final = (OF_REPORTS, HEADING)

# The words of cells, each with the plan's value; the first word is the one written.
ROLE_WORDS: Final = {
    "official": ("công chức",),
    "clerk": ("theo dõi", "văn phòng"),
    "leader": ("lãnh đạo",),
}
COMBINE_WORDS: Final = {
    "sum": ("tổng",),
    "count": ("đếm",),
    "ratio": ("tỉ lệ", "tỷ lệ"),
    "text": ("chữ",),
}
BETTER_WORDS: Final = {"higher": ("cao",), "lower": ("thấp",)}
DEADLINE_WORDS: Final = {
    "keep": ("giữ nguyên",),
    "next_working_day": ("ngày làm việc tiếp theo",),
}
YES, NO = "có", "không"
# "Người nộp": a department is written "bộ phận …"; the child units in words.
DEPARTMENT_PREFIX = "bộ phận"
CHILD_UNITS = "các đơn vị cấp dưới"
