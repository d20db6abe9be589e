"""Storage: SQLAlchemy models, sessions, queries, migrations and the plan loader."""
