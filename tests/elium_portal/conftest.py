"""Fixtures of the Elium-side tests (``database_url`` is in the root ``conftest.py``)."""
