"""SQLite store, media cache and sync client (no Qt)."""
