"""What a validation run reports: one :class:`CheckResult` per check, each with the exchanges
(requests and responses, secrets redacted) that decided it, and the run's overall outcome."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SUCCEEDED = "Succeeded"
FAILED = "Failed"
REDACTED = "********"
MAX_BODY_CHARS = 4000


class CheckStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    WARNING = "WARNING"


class Category(StrEnum):
    DIRECT = "Direct SCIM compliance"
    USER_LIFECYCLE = "User lifecycle"
    GROUP_LIFECYCLE = "Group lifecycle"
    CREDENTIALS = "Credentials"
    DIALECT = "Azure dialect (beyond the gallery list)"


@dataclass
class Exchange:
    """One request and its answer as the target saw them; the bearer token never appears."""

    method: str
    url: str
    request_body: Any = None
    status: int = 0
    response_body: Any = None
    duration_ms: int = 0
    note: str = ""

    def as_text(self) -> str:
        lines = [f"{self.method} {self.url}"]
        if self.request_body is not None:
            lines.append(json.dumps(self.request_body, indent=2, ensure_ascii=False))
        lines.append(f"→ {self.status or 'no response'}")
        if self.response_body is not None:
            text = (
                self.response_body
                if isinstance(self.response_body, str)
                else json.dumps(self.response_body, indent=2, ensure_ascii=False)
            )
            lines.append(text)
        return "\n".join(lines)


@dataclass
class CheckResult:
    name: str
    category: str
    mandatory: bool
    status: CheckStatus
    message: str = ""
    beyond_gallery: bool = False
    exchanges: list[Exchange] = field(default_factory=list)
    deciding: int | None = None  # index into exchanges of the one that decided the outcome
    duration_ms: int = 0

    @property
    def deciding_exchange(self) -> Exchange | None:
        if self.deciding is None or not self.exchanges:
            return None
        return self.exchanges[self.deciding]


@dataclass
class ValidationReport:
    """The outcome of one run. Succeeded when every mandatory check passed or was skipped;
    an optional check that failed is reported as WARNING and does not fail the run."""

    target_url: str
    dialect: str
    groups: bool
    run_prefix: str
    started_at: datetime
    finished_at: datetime | None = None
    results: list[CheckResult] = field(default_factory=list)
    cleanup_failures: list[str] = field(default_factory=list)

    @property
    def overall(self) -> str:
        if any(r.status == CheckStatus.FAILED for r in self.results):
            return FAILED
        return SUCCEEDED

    @property
    def succeeded(self) -> bool:
        return self.overall == SUCCEEDED

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in CheckStatus}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    def result(self, name: str) -> CheckResult | None:
        return next((r for r in self.results if r.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        data["overall"] = self.overall
        data["counts"] = self.counts()
        return data


def redact(value: Any, secrets: list[str]) -> Any:
    """``value`` with every occurrence of a secret masked (strings inside JSON included)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def clip(value: Any) -> Any:
    """Huge bodies (a page of 10,000 members) are cut to keep a run's record small."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= MAX_BODY_CHARS:
        return value
    return text[:MAX_BODY_CHARS] + f"… ({len(text) - MAX_BODY_CHARS} more characters)"
