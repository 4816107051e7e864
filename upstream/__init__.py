"""The team hub server (reference implementation)."""
