"""`obligation_assignees.handed_in`: whether the latest version an official sent stands.

/overdue must not read every submission ever made to find the few missing ones, so each
assignee row carries a flag, true when the official's latest submission for that report exists
and was not returned. Database triggers keep it, whoever writes (the officials' flow, a
review, a bulk import, the plan loader re-adding an assignee):

* a new submission, or a new review state on the latest one, sets the flag of its pair;
* a new assignee row takes the flag from the pair's latest submission, if any.

With the index on (obligation_id, handed_in) the overdue query reads only the open rows of
the reports already due. The statements below are created with the tables (`attach`, for
`create_all`) and by migration 0003; changing them needs a new migration.
"""

from __future__ import annotations

from sqlalchemy import DDL, MetaData, event

SQLITE = (
    """
CREATE TRIGGER IF NOT EXISTS tr_submissions_handed_in_insert
AFTER INSERT ON submissions
WHEN NEW.obligation_id IS NOT NULL
BEGIN
    UPDATE obligation_assignees
    SET handed_in = (NEW.review_state <> 'returned')
    WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id
      AND NEW.version = (SELECT max(version) FROM submissions
                         WHERE obligation_id = NEW.obligation_id
                           AND official_id = NEW.official_id);
END
""",
    """
CREATE TRIGGER IF NOT EXISTS tr_submissions_handed_in_review
AFTER UPDATE OF review_state ON submissions
WHEN NEW.obligation_id IS NOT NULL
BEGIN
    UPDATE obligation_assignees
    SET handed_in = (NEW.review_state <> 'returned')
    WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id
      AND NEW.version = (SELECT max(version) FROM submissions
                         WHERE obligation_id = NEW.obligation_id
                           AND official_id = NEW.official_id);
END
""",
    """
CREATE TRIGGER IF NOT EXISTS tr_obligation_assignees_handed_in
AFTER INSERT ON obligation_assignees
WHEN EXISTS (SELECT 1 FROM submissions
             WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id)
BEGIN
    UPDATE obligation_assignees
    SET handed_in = (SELECT review_state <> 'returned' FROM submissions
                     WHERE obligation_id = NEW.obligation_id
                       AND official_id = NEW.official_id
                     ORDER BY version DESC LIMIT 1)
    WHERE id = NEW.id;
END
""",
)

POSTGRESQL = (
    """
CREATE OR REPLACE FUNCTION desk_submission_handed_in() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.obligation_id IS NOT NULL AND NEW.version = (
        SELECT max(version) FROM submissions
        WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id
    ) THEN
        UPDATE obligation_assignees
        SET handed_in = (NEW.review_state <> 'returned')
        WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id;
    END IF;
    RETURN NULL;
END
$$
""",
    "DROP TRIGGER IF EXISTS tr_submissions_handed_in ON submissions",
    """
CREATE TRIGGER tr_submissions_handed_in
AFTER INSERT OR UPDATE OF review_state ON submissions
FOR EACH ROW EXECUTE FUNCTION desk_submission_handed_in()
""",
    """
CREATE OR REPLACE FUNCTION desk_assignee_handed_in() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.handed_in := coalesce((
        SELECT review_state <> 'returned' FROM submissions
        WHERE obligation_id = NEW.obligation_id AND official_id = NEW.official_id
        ORDER BY version DESC LIMIT 1
    ), false);
    RETURN NEW;
END
$$
""",
    "DROP TRIGGER IF EXISTS tr_obligation_assignees_handed_in ON obligation_assignees",
    """
CREATE TRIGGER tr_obligation_assignees_handed_in
BEFORE INSERT ON obligation_assignees
FOR EACH ROW EXECUTE FUNCTION desk_assignee_handed_in()
""",
)

DROP_SQLITE = (
    "DROP TRIGGER IF EXISTS tr_obligation_assignees_handed_in",
    "DROP TRIGGER IF EXISTS tr_submissions_handed_in_review",
    "DROP TRIGGER IF EXISTS tr_submissions_handed_in_insert",
)

DROP_POSTGRESQL = (
    "DROP TRIGGER IF EXISTS tr_obligation_assignees_handed_in ON obligation_assignees",
    "DROP TRIGGER IF EXISTS tr_submissions_handed_in ON submissions",
    "DROP FUNCTION IF EXISTS desk_assignee_handed_in()",
    "DROP FUNCTION IF EXISTS desk_submission_handed_in()",
)

# Sets every flag from the latest submissions: once, when the column is added.
BACKFILL = """
UPDATE obligation_assignees
SET handed_in = coalesce((
    SELECT s.review_state <> 'returned' FROM submissions s
    WHERE s.obligation_id = obligation_assignees.obligation_id
      AND s.official_id = obligation_assignees.official_id
    ORDER BY s.version DESC LIMIT 1
), false)
"""


def statements(dialect: str) -> tuple[str, ...]:
    """The trigger statements for a database dialect ("sqlite" or "postgresql")."""
    if dialect == "postgresql":
        return POSTGRESQL
    if dialect == "sqlite":
        return SQLITE
    raise ValueError(f"no handed_in triggers for the {dialect} dialect")


def drop_statements(dialect: str) -> tuple[str, ...]:
    """What removes the triggers again (migration downgrade)."""
    return DROP_POSTGRESQL if dialect == "postgresql" else DROP_SQLITE


def attach(metadata: MetaData) -> None:
    """Create the triggers whenever `metadata.create_all` creates the tables."""
    for dialect, group in (("sqlite", SQLITE), ("postgresql", POSTGRESQL)):
        for statement in group:
            ddl = DDL(statement)  # type: ignore[no-untyped-call]
            event.listen(metadata, "after_create", ddl.execute_if(dialect=dialect))
