"""Channel-agnostic conversation logic: who spoke and what they said in, replies out."""
