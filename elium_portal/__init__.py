"""Elium Portal: the project package and the Elium side (tenants, members, tokens, settings)."""
