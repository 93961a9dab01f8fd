"""Cron expressions: aliases, validation with precise messages, fire times and explanations.

Tideflow evaluates cron with `cronsim <https://github.com/cuu508/cronsim>`_, which matches Debian
cron, DST quirks included (see :mod:`tideflow.schedules` for the rules). This module adds what
cronsim leaves to its callers:

* **Aliases.** ``@hourly @daily @midnight @weekly @monthly @yearly @annually`` become their
  5-field expressions here; cronsim does not know them.
* **Messages.** cronsim reports "Bad minute" without the token. :func:`normalize` first checks each
  field lexically (numbers, JAN-DEC / SUN-SAT names, ``*``, ranges ``a-b``, steps ``/n``, lists
  ``a,b``, and cronsim's ``L``, ``LW``, ``nL`` and ``n#k``) and says which field, which token and
  the allowed range; whatever cronsim still rejects is reported with cronsim's own words.
* **day_or=False.** Like Debian cron, cronsim fires when *either* day field matches if both are
  restricted, and when *both* match if either starts with ``*``; it has no switch to force "both".
  For ``day_or=False`` with both day fields restricted, Tideflow splits the expression into a
  day-of-month-only and a day-of-week-only expression (identical in every other field, so their
  DST handling is identical too) and walks the two streams of fire times in step, keeping the times
  that both produce (:func:`fire_times`).

Only 5-field expressions are accepted (minute hour day-of-month month day-of-week): cronsim's
optional seconds field is not Debian cron and skips its DST handling.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError
from cronsim.explain import Expression

from tideflow.errors import ScheduleError

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

# cronsim gives up when an expression has not fired for 50 years; the day_or=False walk does too.
_GIVE_UP_YEARS = 50


@dataclass(frozen=True)
class _Field:
    """One position of a cron expression: its name, numeric range and symbolic names."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    note: str = ""

    @property
    def allowed(self) -> str:
        """The allowed values as text, e.g. ``1-12 or JAN-DEC``."""
        text = f"{self.low}-{self.high}{self.note}"
        return f"{text} or {self.names[0]}-{self.names[-1]}" if self.names else text

    def value_of_name(self, text: str) -> int | None:
        """The number a name such as ``MON`` or ``JAN`` stands for, or ``None``."""
        if text not in self.names:
            return None
        return self.names.index(text) + (1 if self.name == "month" else 0)


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS, " (0 and 7 are Sunday)"),
)
_DAY_OF_MONTH, _DAY_OF_WEEK = FIELDS[2], FIELDS[4]


class _Problem(Exception):
    """A field-level problem; :func:`normalize` adds the expression and the field name."""


def normalize(cron: object) -> str:
    """Validate a cron expression or alias and return its 5-field, upper-case form.

    >>> normalize("@daily")
    '0 0 * * *'
    >>> normalize("*/15  9-17 * * mon-fri")
    '*/15 9-17 * * MON-FRI'

    Raises:
        ScheduleError: naming the field, the offending token and the allowed values.
    """
    if not isinstance(cron, str):
        raise ScheduleError(
            f"cron: expected a string such as '*/5 * * * *', got {cron!r} ({type(cron).__name__})"
        )
    text = cron.strip()
    if text.startswith("@"):
        return _expand_alias(cron, text)
    fields = text.upper().split()
    if len(fields) != len(FIELDS):
        raise ScheduleError(
            f"invalid cron expression {cron!r}: expected 5 fields (minute hour day-of-month "
            f"month day-of-week) or an alias such as @daily, got {len(fields)}"
        )
    normalized = []
    for spec, field_text in zip(FIELDS, fields, strict=True):
        try:
            normalized.append(_check_field(spec, field_text))
        except _Problem as problem:
            raise ScheduleError(
                f"invalid cron expression {cron!r}: {spec.name} field: {problem}"
            ) from None
    return " ".join(normalized)


def _expand_alias(cron: str, text: str) -> str:
    expression = ALIASES.get(text.lower())
    if expression is None:
        raise ScheduleError(
            f"invalid cron expression {cron!r}: unknown alias {text!r}; "
            f"use one of {', '.join(ALIASES)} or a 5-field expression"
        )
    return expression


def _check_field(spec: _Field, text: str) -> str:
    """Check a field; return it with one-value stepped ranges such as ``5-5/2`` as ``5``."""
    terms = text.split(",")
    for term in terms:
        if not term:
            raise _Problem(f"empty item in list {text!r}")
        _check_term(spec, term)
    return ",".join(_one_value_range(spec, term) for term in terms)


def _one_value_range(spec: _Field, term: str) -> str:
    # cronsim reads a stepped range with one value ("5-5/2") as "5/2", i.e. 5 up to the
    # field's maximum; in cron it is just 5. Hand cronsim the plain value.
    base, slash, _ = term.partition("/")
    low, dash, high = base.partition("-")
    if slash and dash and not _is_special(spec, base) and _value(spec, low) == _value(spec, high):
        return low
    return term


def _check_term(spec: _Field, term: str) -> None:
    base, slash, step = term.partition("/")
    if _is_special(spec, base):
        if slash:
            raise _Problem(f"{term!r}: L, LW and # cannot take a step")
        return
    if slash:
        _check_step(spec, term, step)
    if base == "*":
        return
    low_text, dash, high_text = base.partition("-")
    low = _value(spec, low_text)
    if dash and _value(spec, high_text) < low:
        raise _Problem(
            f"range {base!r} runs backwards; ranges go from low to high within {spec.allowed}; "
            f"to wrap around, list two ranges such as {_wrapped(spec, low_text, high_text)!r}"
        )


def _is_special(spec: _Field, base: str) -> bool:
    """Check cronsim's extensions: ``L``/``LW`` (day of month), ``5L``/``MON#2`` (day of week)."""
    if spec is _DAY_OF_MONTH:
        return base in ("L", "LW")
    if spec is not _DAY_OF_WEEK:
        return False
    if base.endswith("L") and base[:-1].isascii() and base[:-1].isdigit():
        _value(spec, base[:-1])
        return True
    if "#" in base:
        day, _, nth = base.partition("#")
        _value(spec, day)
        if nth not in ("1", "2", "3", "4", "5"):
            raise _Problem(f"{base!r}: the week number after '#' must be 1-5, got {nth!r}")
        return True
    return False


def _check_step(spec: _Field, term: str, step: str) -> None:
    if step.isascii() and step.isdigit() and 1 <= int(step) <= spec.high:
        return
    hint = ""
    if spec.name in ("minute", "hour") and step.isascii() and step.isdigit():
        hint = (
            "; cron steps restart every hour or day: use an IntervalSchedule for longer intervals"
        )
    raise _Problem(f"step {step!r} in {term!r} is out of range 1-{spec.high}{hint}")


def _value(spec: _Field, text: str) -> int:
    named = spec.value_of_name(text)
    if named is not None:
        return named
    if not (text.isascii() and text.isdigit()):
        raise _Problem(f"{text!r} is not a valid value; use {spec.allowed}")
    if not spec.low <= int(text) <= spec.high:
        raise _Problem(f"value {text!r} is out of range {spec.allowed}")
    return int(text)


def _wrapped(spec: _Field, low_text: str, high_text: str) -> str:
    if spec.names and low_text in spec.names:
        return f"{low_text}-{spec.names[-1]},{spec.names[0]}-{high_text}"
    return f"{low_text}-{spec.high},{spec.low}-{high_text}"


def check_with_cronsim(cron: str, expression: str, day_or: bool) -> None:
    """Let cronsim reject what the lexical check cannot see, e.g. ``0 0 30 2 *`` (no Feb 30).

    Raises:
        ScheduleError: with cronsim's reason, reworded for the day-of-month case.
    """
    expressions = and_parts(expression, day_or) or (expression,)
    for expr in expressions:
        try:
            CronSim(expr, datetime(2000, 1, 1))
        except CronSimError as error:
            _, _, day, month, _ = expr.split()
            if str(error) == "Bad day-of-month":
                raise ScheduleError(
                    f"invalid cron expression {cron!r}: day-of-month field: day {day!r} never "
                    f"occurs in the months of the month field {month!r}"
                ) from None
            raise ScheduleError(f"invalid cron expression {cron!r}: {error}") from None


def and_parts(expression: str, day_or: bool) -> tuple[str, str] | None:
    """The day-of-month-only and day-of-week-only expressions, when Tideflow must AND them itself.

    That is when ``day_or`` is False and neither day field starts with ``*`` (when one does,
    cronsim already requires both, following Debian cron).
    """
    minute, hour, day, month, weekday = expression.split()
    if day_or or day.startswith("*") or weekday.startswith("*"):
        return None
    return f"{minute} {hour} {day} {month} *", f"{minute} {hour} * {month} {weekday}"


def fire_times(expression: str, day_or: bool, after: datetime) -> Iterator[datetime]:
    """Fire times of a normalized expression after ``after``, in ``after``'s zone, in order.

    cronsim's DST handling can yield a time at or before ``after`` (the first occurrence of an
    ambiguous wall-clock time when ``after`` lies in the repeated hour), so callers still check
    each time against ``after``.
    """
    parts = and_parts(expression, day_or)
    if parts is None:
        return _until_year_9999(CronSim(expression, after))
    return _until_year_9999(_both(parts[0], parts[1], after))


def _until_year_9999(times: Iterator[datetime]) -> Iterator[datetime]:
    """Stop where the calendar of ``datetime`` ends (cronsim raises OverflowError there)."""
    try:
        yield from times
    except OverflowError:
        return


def _both(day_expr: str, weekday_expr: str, after: datetime) -> Iterator[datetime]:
    """Times that both expressions produce: a leapfrog join over two sorted streams.

    When one stream is behind, it restarts just before the other's time instead of stepping
    through every time in between, so rare matches (Friday the 13th) stay cheap.
    """
    days, weekdays = CronSim(day_expr, after), CronSim(weekday_expr, after)
    a, b = next(days, None), next(weekdays, None)
    horizon = after.year + _GIVE_UP_YEARS
    while a is not None and b is not None and max(a.year, b.year) <= horizon:
        if a.astimezone(UTC) == b.astimezone(UTC):
            yield a
            horizon = a.year + _GIVE_UP_YEARS
            a, b = next(days, None), next(weekdays, None)
        elif a.astimezone(UTC) < b.astimezone(UTC):
            days = CronSim(day_expr, _just_before(b))
            a = next(days, None)
        else:
            weekdays = CronSim(weekday_expr, _just_before(a))
            b = next(weekdays, None)


def _just_before(dt: datetime) -> datetime:
    """One second before ``dt`` in absolute time, in ``dt``'s zone (cronsim works in seconds)."""
    return (dt.astimezone(UTC) - timedelta(seconds=1)).astimezone(dt.tzinfo)


def explain(expression: str, day_or: bool) -> str:
    """cronsim's plain-English explanation, starting lower-case.

    >>> explain("0 9 * * MON-FRI", day_or=True)
    'at 09:00 on Monday through Friday'
    """
    parsed = Expression(expression.split())
    if and_parts(expression, day_or) is not None:
        # cronsim phrases AND as "... if it's on Friday"; it reads this flag to choose.
        parsed.day_and = True
    text = parsed.explain()
    return text[:1].lower() + text[1:]
