"""nhacviec composition root: settings, CLI, channel adapters."""
