"""Writes of the Elium side. Each service takes the tenant explicitly."""
