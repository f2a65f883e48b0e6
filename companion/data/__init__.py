"""Content the companion says and runs: exercises, intents, replies, crisis lines (data, not code)."""
