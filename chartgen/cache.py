"""On-disk caches: compiled templates, data derived from chartgen's code, and whole renders.

A render is a pure function of its inputs: the spec and values texts, the flags, chartgen's own
code and templates, and the libraries that shape the output. A successful render's files and
warnings are kept under the SHA-256 of all of these, so the same inputs give the same chart
again without parsing, validating or templating anything; a change to any input is another
key. Failed renders are never kept. A cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from chartgen.errors import Diagnostic, Location
from chartgen.sources import Text, template_dir

#: Root of the caches; empty turns them off. Default: $XDG_CACHE_HOME/chartgen.
CACHE_DIR_ENV = "CHARTGEN_CACHE_DIR"
#: How many renders are kept; the least recently used go first.
KEPT_RENDERS = 8
#: Seconds after which a temporary entry nothing writes to any more is removed.
ABANDONED_AFTER = 3600
#: Larger renders are not kept: writing them twice (chart and cache) costs more than it saves.
LARGEST_KEPT_RENDER = 16 * 1024 * 1024
#: Import names of the libraries whose code decides the output's bytes.
SHAPING_LIBRARIES = (
    "jinja2",
    "pydantic",
    "pydantic_core",
    "ruamel.yaml",
    "_ruamel_yaml",
    "orjson",
    "promql_parser",
    "yaml_rs",
)
_ENTRY_SUFFIX = ".render"


def cache_dir(kind: str) -> Path | None:
    """The directory of one cache (``templates``, ``renders``, ``derived``), or None if off."""
    root = os.environ.get(CACHE_DIR_ENV)
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "chartgen")
    return Path(root) / kind if root else None


@dataclass(frozen=True)
class Rendered:
    """A successful render: the chart's name, its files, and the warnings it printed."""

    chart: str
    files: dict[str, str]
    warnings: tuple[Diagnostic, ...]


def load_derived(name: str) -> Any:
    """Data worked out from chartgen's code alone, kept for this toolchain; None if not kept.

    Such data (e.g. pydantic's schema of the values models no spec changes) is the same on
    every run until chartgen or a shaping library changes, which changes the toolchain digest.
    """
    path = _derived_path(name)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return orjson.loads(handle.read())
    except (OSError, ValueError):
        return None


def store_derived(name: str, data: Any) -> None:
    """Keep data for ``load_derived``, in place of what other toolchains kept under the name."""
    path = _derived_path(name)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in path.parent.glob(f"{name}.*.json"):
            stale.unlink(missing_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(orjson.dumps(data))
        os.replace(temporary, path)
    except OSError:
        pass


def _derived_path(name: str) -> Path | None:
    directory = cache_dir("derived")
    return None if directory is None else directory / f"{name}.{toolchain_digest().hex()}.json"


def render_key(specs: Sequence[Text], values: Sequence[Text], *, strict: bool) -> str:
    """The digest of everything a render's result depends on."""
    digest = hashlib.sha256(toolchain_digest())
    digest.update(b"strict" if strict else b"lenient")
    for kind, texts in ((b"spec", specs), (b"values", values)):
        for name, text in texts:
            _frame(digest, kind, name.encode(), text.encode())
    return digest.hexdigest()


@functools.cache
def toolchain_digest() -> bytes:
    """The digest of chartgen's code and templates, Python, and the shaping libraries.

    A library counts by where it is installed and its entry file's size and time: upgrading
    or reinstalling it rewrites that file.
    """
    digest = hashlib.sha256(sys.version.encode())
    digest.update(source_digest([Path(__file__).parent, template_dir()]))
    for name in SHAPING_LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec and spec.origin else ""
        try:
            stat = os.stat(origin)
            installed = f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            installed = origin
        _frame(digest, b"library", name.encode(), installed.encode())
    return digest.digest()


def source_digest(directories: Iterable[Path]) -> bytes:
    """The digest of every file under the directories, by relative path and content."""
    digest = hashlib.sha256()
    for directory in directories:
        for parent, dirs, names in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(parent, name)
                with open(path, "rb") as handle:
                    content = handle.read()
                _frame(digest, b"file", os.path.relpath(path, directory).encode(), content)
    return digest.digest()


def _frame(digest: hashlib._Hash, *parts: bytes) -> None:
    """Feed parts with their lengths, so that no two different inputs run together."""
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)


def load_render(key: str) -> Rendered | None:
    """The render kept under ``key``, or None if there is none (or it cannot be read)."""
    directory = cache_dir("renders")
    if directory is None:
        return None
    path = directory / (key + _ENTRY_SUFFIX)
    try:
        with open(path, "rb") as handle:
            entry = handle.read()
        os.utime(path)  # recently used: kept longest
        body, _, tail = entry.rpartition(b"\n")
        meta = orjson.loads(tail)
        files: dict[str, str] = {}
        start = 0
        for name, size in meta["files"]:
            files[name] = body[start : start + size].decode()
            start += size
        if start != len(body):
            return None
        return Rendered(
            chart=meta["chart"],
            files=files,
            warnings=tuple(
                Diagnostic(Location(*where), what, fix, warning=True)
                for where, what, fix in meta["warnings"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_render(key: str, rendered: Rendered) -> None:
    """Keep a successful render under ``key``, and drop the least recently used beyond a few."""
    with Recording(key, rendered.chart, rendered.files.items(), rendered.warnings) as recording:
        for _ in recording:
            pass
        recording.keep()


class Recording:
    """Passes a render's files on as they come, writing them into a render cache entry.

    An entry is the files' bytes one after another, then a JSON line: the chart's name, its
    warnings, each file's path and size in bytes. Each file goes to a temporary entry as it
    passes, so nothing is held in memory; the entry takes its place only on ``keep``, once
    every file has passed. A render over LARGEST_KEPT_RENDER, one that fails, and a cache
    that cannot be written leave no entry. ``count`` is how many files have passed.
    """

    def __init__(
        self,
        key: str | None,
        chart: str,
        files: Iterable[tuple[str, str]],
        warnings: tuple[Diagnostic, ...],
    ) -> None:
        self.chart, self.warnings, self.count = chart, warnings, 0
        self._files = files
        self._directory = cache_dir("renders") if key is not None else None
        self._key = key
        self._handle: BinaryIO | None = None
        self._temporary = ""
        self._sizes: list[tuple[str, int]] = []
        self._total = 0
        self._done = False

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._drop()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for path, text in self._files:
            self.count += 1
            if self._directory is not None:
                self._record(path, text)
            yield path, text
        self._done = True

    def keep(self) -> None:
        """Put the entry in place if every file has passed, and prune the cache."""
        if not self._done or self._handle is None or self._directory is None:
            return
        meta = {
            "chart": self.chart,
            "files": self._sizes,
            "warnings": [
                [[w.where.file, w.where.line, w.where.path], w.what, w.fix] for w in self.warnings
            ],
        }
        try:
            self._handle.write(b"\n" + orjson.dumps(meta))
            self._handle.close()
            os.replace(self._temporary, self._directory / f"{self._key}{_ENTRY_SUFFIX}")
            self._handle = None
            _prune(self._directory)
        except OSError:
            self._drop()

    def _record(self, path: str, text: str) -> None:
        data = text.encode()
        self._total += len(data)
        if self._total > LARGEST_KEPT_RENDER:
            self._stop()
            return
        try:
            if self._handle is None:
                assert self._directory is not None
                self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                handle, self._temporary = tempfile.mkstemp(dir=self._directory, suffix=".tmp")
                self._handle = os.fdopen(handle, "wb")
            self._handle.write(data)
            self._sizes.append((path, len(data)))
        except OSError:
            self._stop()

    def _stop(self) -> None:
        """Record nothing more: this render will not be kept."""
        self._drop()
        self._directory = None

    def _drop(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)


def _prune(directory: Path) -> None:
    """Remove all but the KEPT_RENDERS most recently used entries, and abandoned ones.

    An entry being written is a temporary file until it is complete; one that has not
    changed for an hour belongs to a render that was killed.
    """
    entries = []
    abandoned = time.time() - ABANDONED_AFTER
    for path in directory.iterdir():
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.suffix == _ENTRY_SUFFIX:
            entries.append((stat.st_mtime_ns, path))
        elif path.suffix == ".tmp" and stat.st_mtime < abandoned:
            path.unlink(missing_ok=True)
    for _, path in sorted(entries, reverse=True)[KEPT_RENDERS:]:
        path.unlink(missing_ok=True)
