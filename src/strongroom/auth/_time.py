"""Timestamps: aware UTC datetimes in the API, integer milliseconds in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongroom.errors import ValidationError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(when: datetime, field: str = "now") -> int:
    """Whole milliseconds since the Unix epoch; ``when`` must be timezone-aware."""
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise ValidationError.single(field, "must be a timezone-aware datetime")
    return (when - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS
