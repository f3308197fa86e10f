"""Append-only audit of personal-data access."""
