"""Loading the incident event log: from a path or URL, through a Parquet cache, with a synthetic
fallback when offline.

:func:`load_incidents` resolves a *source* (the ``source`` argument, else ``$TIDEFLOW_INCIDENTS``,
else UCI's download URL of dataset 498), and returns an :class:`IncidentData`:

1. A URL is downloaded once into the cache dir (``$TIDEFLOW_HOME/cache/incidents`` by default)
   and from then on read like a local file. A source is a zip holding ``incident_event_log.csv``
   (possibly inside a zip inside the zip, as UCI wraps its downloads) or the CSV itself.
2. The source's bytes are hashed (sha256). When ``incidents-<sha256[:16]>-v1.parquet`` exists in
   the cache dir, that table is the answer: nothing is downloaded or parsed. Otherwise the CSV is
   parsed (:mod:`tideflow.reference.csvtext`) and the table written there, atomically (a temporary
   file renamed into place), so a killed process never leaves half a cache file; a cache file
   that cannot be read is discarded with a warning and rebuilt.
3. When the source is a URL that cannot be downloaded and ``fallback`` is true, the answer is
   synthetic data (:mod:`tideflow.reference.synthetic`) marked ``synthetic=True``, with a ``note``
   saying so and why, also logged as a WARNING on the ``tideflow.reference`` logger. A local path
   that does not exist is an error, never a fallback.

Every problem with the data raises :class:`~tideflow.errors.DataError` naming the file (and the
line, column and value where one is at fault) and how to fix it.

>>> from tideflow.reference.csvtext import EXAMPLE
>>> closed_tickets(EXAMPLE).shape
(0, 36)
"""

from __future__ import annotations

import hashlib
import http.client
import io
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

import pandas as pd

from tideflow.errors import DataError
from tideflow.reference.csvtext import MEMBER, read_incident_csv
from tideflow.reference.schema import conform
from tideflow.reference.synthetic import GENERATOR_VERSION, generate_incidents
from tideflow.store import default_home

__all__ = [
    "DEFAULT_SOURCE",
    "SOURCE_ENV",
    "DataError",
    "IncidentData",
    "cache_path",
    "closed_tickets",
    "default_cache_dir",
    "download",
    "load_incidents",
    "parse_source",
    "resolve_source",
]

DEFAULT_SOURCE: Final = (
    "https://archive.ics.uci.edu/static/public/498/"
    "incident+management+process+enriched+event+log.zip"
)
SOURCE_ENV: Final = "TIDEFLOW_INCIDENTS"
DOWNLOAD_TIMEOUT: Final = 20.0  # seconds
CACHE_VERSION: Final = 1  # bump when the cached table's layout changes
REAL_EVENTS: Final = 141_712
REAL_INCIDENTS: Final = 24_918

logger = logging.getLogger("tideflow.reference")


@dataclass(frozen=True, eq=False)
class IncidentData:
    """A loaded incident log and where it came from.

    ``checksum`` is the sha256 of the source's bytes (for synthetic data, of its recipe);
    ``note`` is one sentence for humans, to log: it says plainly when the data is synthetic.
    """

    frame: pd.DataFrame = field(repr=False)
    source: str
    checksum: str
    synthetic: bool
    note: str


def load_incidents(
    source: str | Path | None = None,
    *,
    cache_dir: Path | None = None,
    fallback: bool = True,
    synthetic_rows: int = REAL_EVENTS,
    seed: int = 0,
) -> IncidentData:
    """Load the incident log from ``source`` (see the module docstring for the whole story).

    Args:
        source: a path to the zip or CSV, or an http(s) URL; default ``$TIDEFLOW_INCIDENTS``,
            else :data:`DEFAULT_SOURCE`.
        cache_dir: where downloads and parsed tables are kept; default
            ``$TIDEFLOW_HOME/cache/incidents``.
        fallback: when a URL cannot be downloaded, return synthetic data instead of raising.
        synthetic_rows: about how many events the synthetic fallback has (it generates
            ``synthetic_rows / 5.69`` incidents, the real log's ratio; the default gives the real
            log's 24,918 incidents).
        seed: the synthetic fallback's random seed.

    Raises:
        DataError: the file is missing or malformed, or the URL cannot be downloaded and
            ``fallback`` is false.
    """
    location = resolve_source(source)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not is_url(location):
        return _load_file(Path(location).expanduser(), location, cache)
    try:
        path = download(location, cache)
    except DataError as exc:
        if not fallback:
            raise DataError(
                f"{exc}; check the network and the URL, set {SOURCE_ENV} to a local copy of the "
                "zip, or pass fallback=True to use synthetic data"
            ) from exc
        return _synthetic_fallback(location, exc, synthetic_rows, seed)
    return _load_file(path, location, cache)


def resolve_source(source: str | Path | None = None) -> str:
    """``source``, else ``$TIDEFLOW_INCIDENTS``, else :data:`DEFAULT_SOURCE`.

    >>> resolve_source("data/log.zip")
    'data/log.zip'
    """
    if source is not None:
        return str(source)
    return os.environ.get(SOURCE_ENV, "").strip() or DEFAULT_SOURCE


def is_url(location: str) -> bool:
    """True for an http, https or ftp URL; anything else is a local path.

    >>> is_url(DEFAULT_SOURCE), is_url("/data/incident_event_log.csv.zip")
    (True, False)
    """
    return urllib.parse.urlsplit(location).scheme.lower() in {"http", "https", "ftp"}


def default_cache_dir() -> Path:
    """``$TIDEFLOW_HOME/cache/incidents`` (``TIDEFLOW_HOME`` defaults to ``~/.tideflow``)."""
    return default_home() / "cache" / "incidents"


def cache_path(cache_dir: Path, checksum: str) -> Path:
    """Where the parsed table of the source with sha256 ``checksum`` is cached.

    >>> cache_path(Path("/c"), "ab" * 32).name
    'incidents-abababababababab-v1.parquet'
    """
    return cache_dir / f"incidents-{checksum[:16]}-v{CACHE_VERSION}.parquet"


def download(url: str, cache_dir: Path, *, timeout: float = DOWNLOAD_TIMEOUT) -> Path:
    """The local copy of ``url`` in ``cache_dir/downloads``, downloaded first if it is not there.

    Raises:
        DataError: the URL cannot be read (no network, refused, HTTP error, timeout), or the
            download cannot be saved in ``cache_dir`` (not writable, disk full).
    """
    target = cache_dir / "downloads" / _download_name(url)
    if target.is_file():
        return target
    logger.info("downloading %s (timeout %.0f s)", url, timeout)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DataError(f"cannot download {url}: {_reason(exc)}") from exc
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, lambda path: path.write_bytes(data))
    except OSError as exc:
        raise DataError(
            f"cannot save the download of {url} in {target.parent}: {exc}; set TIDEFLOW_HOME "
            "to a writable directory"
        ) from exc
    logger.info("downloaded %s (%d bytes) to %s", url, len(data), target)
    return target


def parse_source(path: Path, data: bytes, cache_dir: Path) -> pd.DataFrame:
    """Parse ``data``, the bytes of the file at ``path``: a zip holding the CSV, or the CSV.

    ``cache_dir`` is named in the advice when a downloaded zip turns out to be corrupt.

    Raises:
        DataError: a corrupt zip, a zip without the CSV, or a malformed CSV.
    """
    if not _is_zip(path, data):
        return read_incident_csv(data, str(path))
    member, text = _csv_in_zip(path, data, cache_dir)
    return read_incident_csv(text, f"{path} (member {member})")


def closed_tickets(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per closed incident: its last event, kept when that event's state is ``Closed``
    and ``closed_at`` is present. The population the ticket model is evaluated on.

    Events are taken in the frame's order, which is the log's event order within an incident.
    """
    last = frame[~frame["number"].duplicated(keep="last")]
    closed = last[(last["incident_state"] == "Closed") & last["closed_at"].notna()]
    return closed.reset_index(drop=True)


# -- a local file, through the cache ----------------------------------------------------------


def _load_file(path: Path, label: str, cache_dir: Path) -> IncidentData:
    data = _read_source_bytes(path)
    checksum = hashlib.sha256(data).hexdigest()
    cached = cache_path(cache_dir, checksum)
    frame = _read_cache(cached)
    how = f"read from the cache {cached}"
    if frame is None:
        frame = parse_source(path, data, cache_dir)
        how = f"parsed and cached as {cached}" if _write_cache(frame, cached) else "parsed"
    incidents = frame["number"].nunique()
    note = (
        f"{len(frame):,} events of {incidents:,} incidents from {label} "
        f"(sha256 {checksum[:12]}), {how}"
    )
    logger.info("%s", note)
    return IncidentData(frame, label, checksum, synthetic=False, note=note)


def _read_source_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a directory, not a file"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
    raise DataError(
        f"{path}: {problem}; pass source= or set {SOURCE_ENV} to the incident log "
        f"(its .zip or .csv) or to a URL such as {DEFAULT_SOURCE}"
    )


def _read_cache(path: Path) -> pd.DataFrame | None:
    """The cached table at ``path``; None when there is none or it is unreadable (then it is
    deleted, so that it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        return conform(pd.read_parquet(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("discarding the unreadable incident cache %s (%s); rebuilding it", path, exc)
        path.unlink(missing_ok=True)
        return None


def _write_cache(frame: pd.DataFrame, path: Path) -> bool:
    """Write ``frame`` to ``path`` atomically; False (and a warning) when that is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
    except OSError as exc:
        logger.warning(
            "cannot write the incident cache %s (%s); the next load parses again", path, exc
        )
        return False
    return True


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary file beside ``target``, then rename it to ``target``."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- zips -----------------------------------------------------------------------------------


def _is_zip(path: Path, data: bytes) -> bool:
    return path.suffix.lower() == ".zip" or data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def _csv_in_zip(path: Path, data: bytes, cache_dir: Path) -> tuple[str, bytes]:
    """(member name, bytes) of the incident CSV in the zip ``data``, searching nested zips."""
    members: list[str] = []
    try:
        found = _search_zip(zipfile.ZipFile(io.BytesIO(data)), "", members)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise DataError(
            f"{path}: a truncated or corrupt zip file ({exc}); {_corrupt_advice(path, cache_dir)}"
        ) from exc
    if found is None:
        raise DataError(
            f"{path}: no {MEMBER} in this zip; its members are: {', '.join(members) or '(none)'}"
        )
    return found


def _search_zip(
    archive: zipfile.ZipFile, prefix: str, members: list[str]
) -> tuple[str, bytes] | None:
    names = archive.namelist()
    members.extend(prefix + name for name in names)
    useful = [name for name in names if not _is_junk(name)]
    for name in useful:
        if PurePosixPath(name).name.lower() == MEMBER:
            return prefix + name, archive.read(name)
    for name in useful:
        if name.lower().endswith(".zip"):
            inner = zipfile.ZipFile(io.BytesIO(archive.read(name)))
            found = _search_zip(inner, f"{prefix}{name}/", members)
            if found is not None:
                return found
    return None


def _is_junk(name: str) -> bool:
    """Directories and macOS resource forks (``__MACOSX/._x.csv``) are never data."""
    return (
        name.endswith("/")
        or name.startswith("__MACOSX/")
        or PurePosixPath(name).name.startswith("._")
    )


def _corrupt_advice(path: Path, cache_dir: Path) -> str:
    if path.resolve().is_relative_to(cache_dir.resolve()):
        return f"re-download it or delete it from the cache dir {cache_dir}"
    return f"re-download it (from {DEFAULT_SOURCE}) or point {SOURCE_ENV} at a good copy"


# -- URLs and the synthetic fallback ---------------------------------------------------------


def _download_name(url: str) -> str:
    """A file name for ``url``'s download: a hash of the URL (so two URLs never collide) and its
    last path segment, made safe."""
    tail = PurePosixPath(urllib.parse.unquote_plus(urllib.parse.urlsplit(url).path)).name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", tail).strip("._") or "download"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{safe}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _synthetic_fallback(url: str, error: DataError, rows: int, seed: int) -> IncidentData:
    incidents = max(1, round(rows * REAL_INCIDENTS / REAL_EVENTS))
    frame = generate_incidents(incidents, seed=seed)
    note = (
        f"SYNTHETIC DATA: {error}, so {len(frame):,} events of {incidents:,} synthetic incidents "
        f"(seed {seed}) were generated in the shape of the UCI incident log instead; they are not "
        "real tickets, and results computed on them say nothing about real data"
    )
    logger.warning("%s", note)
    recipe = f"synthetic incidents={incidents} seed={seed} generator={GENERATOR_VERSION}"
    checksum = hashlib.sha256(recipe.encode()).hexdigest()
    return IncidentData(frame, url, checksum, synthetic=True, note=note)
