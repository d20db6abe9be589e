"""The queries behind the clerk's desk: who owes what, review, extensions, notices.

Every query is scoped to one unit and reaches rows through the indexes on
`obligations (unit_id, active, due_date)`, `obligation_assignees (obligation_id, official_id)`
and `submissions (official_id, obligation_id, version)`, so its cost follows the size of the
answer rather than the size of the tables.
"""
