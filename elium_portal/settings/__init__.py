"""Settings split by environment: ``base`` is shared; ``local``, ``test`` and ``production``
build on it. ``manage.py`` defaults to ``local``; pytest uses ``test``."""
