"""Moderator Desk: the domain, services and CLI (no Qt)."""
