"""Reminders: the pure policy, the sweep into the outbox, dispatch, and the APScheduler tick."""
