"""On-disk caches: compiled templates, and whole renders keyed by everything that made them.

A render is a pure function of its inputs: the spec and values texts, the flags, chartgen's own
code and templates, and the libraries that shape the output. A successful render's files and
warnings are kept under the SHA-256 of all of these, so the same inputs give the same chart
again without parsing, validating or templating anything; a change to any input is another
key. Failed renders are never kept. A cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from chartgen.errors import Diagnostic, Location
from chartgen.sources import Text, template_dir

#: Root of the caches; empty turns them off. Default: $XDG_CACHE_HOME/chartgen.
CACHE_DIR_ENV = "CHARTGEN_CACHE_DIR"
#: How many renders are kept; the least recently used go first.
KEPT_RENDERS = 8
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
    """The directory of one cache (``templates``, ``renders``), or None when caching is off."""
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
        head, _, body = entry.partition(b"\n")
        meta = orjson.loads(head)
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
    """Keep a successful render under ``key``, and drop the least recently used beyond a few.

    An entry is a JSON line (the chart's name, its warnings, each file's path and size in
    bytes), then the files' bytes one after another: written a file at a time, it never
    holds a second copy of the chart in memory.
    """
    directory = cache_dir("renders")
    if directory is None:
        return
    sizes = [
        (path, len(text) if text.isascii() else len(text.encode()))
        for path, text in rendered.files.items()
    ]
    if sum(size for _, size in sizes) > LARGEST_KEPT_RENDER:
        return
    meta = {
        "chart": rendered.chart,
        "files": sizes,
        "warnings": [
            [[w.where.file, w.where.line, w.where.path], w.what, w.fix] for w in rendered.warnings
        ],
    }
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps(meta) + b"\n")
                for text in rendered.files.values():
                    out.write(text.encode())
            os.replace(temporary, directory / (key + _ENTRY_SUFFIX))
        except BaseException:
            os.unlink(temporary)
            raise
        _prune(directory)
    except OSError:
        pass


def _prune(directory: Path) -> None:
    """Remove all but the KEPT_RENDERS most recently used entries."""
    entries = []
    for path in directory.glob("*" + _ENTRY_SUFFIX):
        try:
            entries.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _, path in sorted(entries, reverse=True)[KEPT_RENDERS:]:
        path.unlink(missing_ok=True)
