"""Development secrets, generated once into ``var/`` and reused.

Production never calls this: its settings refuse to start without real values in the
environment.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path

SECRET_NAMES = ("DJANGO_SECRET_KEY", "TOKEN_PEPPER", "CREDENTIALS_KEY")


def _generate() -> dict[str, str]:
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "TOKEN_PEPPER": secrets.token_urlsafe(32),
        # A Fernet key: 32 random bytes, urlsafe base64.
        "CREDENTIALS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def load_or_create(path: Path) -> dict[str, str]:
    """Return the development secrets stored at ``path``, creating the file on first use.

    Creation uses ``O_EXCL`` so concurrent first starts (web and worker) agree on one set.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            json.dump(_generate(), fh)
    for _ in range(50):
        text = path.read_text()
        if text:
            return json.loads(text)
        time.sleep(0.02)  # the creator is still writing
    raise RuntimeError(f"{path} is empty; delete it and start again")
