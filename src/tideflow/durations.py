"""Durations as short text: ``90s``, ``15m``, ``2h``, ``30d``, ``1w``, ``1h30m``.

Used wherever a person types an interval: the CLI (``--interval 90s``), ``tideflow.toml``
deployments, timeouts and retry delays.

* :func:`parse_duration` reads one or more ``<number><unit>`` parts, units ``w`` (weeks), ``d``
  (days), ``h`` (hours), ``m`` (minutes) and ``s`` (seconds), each at most once and from the
  largest unit to the smallest, optionally separated by spaces (``1h 30m``). Numbers may have
  decimals (``1.5h``). A plain number is seconds (``90``). Upper case is accepted.
* :func:`format_duration` writes the canonical form: the same units, largest first, zero parts
  left out, seconds with decimals only when needed; so ``timedelta(seconds=90)`` is ``1m30s``
  and ``parse_duration(format_duration(d)) == d`` for every non-negative timedelta.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_MICROSECONDS = {unit: Decimal(seconds * 1_000_000) for unit, seconds in _UNITS}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])", re.IGNORECASE)
_EXAMPLES = "'90s', '15m', '2h', '30d', '1w', '1h30m' or a plain number of seconds such as '90'"


def parse_duration(text: str) -> timedelta:
    """The timedelta written as ``text``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("90")
    datetime.timedelta(seconds=90)

    Raises:
        ValueError: naming the text and showing valid examples.
    """
    stripped = text.strip()
    try:
        if stripped and stripped.replace(".", "", 1).isdigit() and stripped.isascii():
            return _from_microseconds(Decimal(stripped) * 1_000_000)
        return _parse_parts(text, stripped)
    except (InvalidOperation, OverflowError):
        raise ValueError(f"invalid duration {text!r}: the number is too large") from None


def _parse_parts(text: str, stripped: str) -> timedelta:
    position, total, previous = 0, Decimal(0), -1
    order = [unit for unit, _ in _UNITS]
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}: use {_EXAMPLES}")
        unit = match.group(2).lower()
        if order.index(unit) <= previous:
            raise ValueError(
                f"invalid duration {text!r}: give each unit at most once, from weeks to seconds "
                "(w, d, h, m, s), e.g. '1d2h30m'"
            )
        previous = order.index(unit)
        total += Decimal(match.group(1)) * _MICROSECONDS[unit]
        position = match.end()
    if previous < 0:
        raise ValueError(f"invalid duration {text!r}: use {_EXAMPLES}")
    return _from_microseconds(total)


def _from_microseconds(total: Decimal) -> timedelta:
    return timedelta(microseconds=int(total.to_integral_value()))


def format_duration(delta: timedelta) -> str:
    """``delta`` as text that :func:`parse_duration` reads back, e.g. ``1h30m``.

    >>> format_duration(timedelta(seconds=90))
    '1m30s'
    >>> format_duration(timedelta(days=8))
    '1w1d'
    >>> format_duration(timedelta(0))
    '0s'

    Negative durations get a leading ``-`` (``-5m``), which :func:`parse_duration` rejects.
    """
    if delta < timedelta(0):
        return "-" + format_duration(-delta)
    microseconds = delta // timedelta(microseconds=1)
    parts = []
    for unit, seconds in _UNITS:
        count, microseconds = divmod(microseconds, seconds * 1_000_000)
        if unit == "s":
            parts.append(_seconds_text(count, microseconds))
        elif count:
            parts.append(f"{count}{unit}")
    text = "".join(part for part in parts if part)
    return text or "0s"


def _seconds_text(seconds: int, microseconds: int) -> str:
    if microseconds:
        return f"{seconds}.{microseconds:06d}".rstrip("0") + "s"
    return f"{seconds}s" if seconds else ""
