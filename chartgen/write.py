"""Write: swap a rendered chart into place atomically, or compare it with what is on disk."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chartgen.errors import ChartgenError, Location
from chartgen.sources import HEADER

#: The file whose first line marks a directory as chartgen's to overwrite.
MARKER_FILE = "Chart.yaml"
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class Difference:
    """A file that would change: 'changed', 'missing' (to be added) or 'extra' (to be removed)."""

    path: str
    status: str
    diff: str = ""


def is_generated(directory: Path) -> bool:
    """Whether a directory holds a chart chartgen wrote (its Chart.yaml carries the header)."""
    try:
        with (directory / MARKER_FILE).open(encoding="utf-8") as marker:
            return HEADER in marker.readline()
    except OSError:
        return False


def compare(files: dict[str, str], out: Path) -> list[Difference]:
    """The differences between rendered files and the chart directory, by path."""
    on_disk = _files_under(out)
    found = []
    for path in sorted(set(files) | on_disk):
        if path not in on_disk:
            found.append(Difference(path, "missing", _diff("", files[path], path)))
            continue
        current = _read(out, path).decode("utf-8", errors="replace")
        if path not in files:
            found.append(Difference(path, "extra", _diff(current, "", path)))
        elif current != files[path]:
            found.append(Difference(path, "changed", _diff(current, files[path], path)))
    return found


def is_current(files: dict[str, str], out: Path) -> bool:
    """Whether the chart directory holds exactly these files with exactly this text."""
    if _files_under(out) != files.keys():
        return False
    return all(_read(out, path) == text.encode() for path, text in files.items())


def write_chart(files: dict[str, str], out: Path) -> bool:
    """Write the chart into a new directory beside ``out``, then swap it in.

    A failure at any point leaves the previous chart as it was. A chart already on disk
    byte for byte is left untouched (its files keep their times); returns whether it wrote.
    """
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise ChartgenError.single(
            "the output path exists and is not a directory",
            fix="choose another --out",
            where=Location(str(out)),
        )
    if out.is_dir() and any(out.iterdir()) and not is_generated(out):
        raise ChartgenError.single(
            f"refusing to overwrite a directory chartgen did not write ({MARKER_FILE} lacks "
            f"the '{HEADER}' line)",
            fix="choose an empty or new --out directory, or remove this one first",
            where=Location(str(out)),
        )
    try:
        if is_current(files, out):
            return False
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        try:
            _write_files(files, staging)
            _swap(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as err:
        raise ChartgenError.single(
            f"cannot write the chart: {err.strerror or err}; the chart on disk is unchanged",
            fix="free space or fix permissions where the chart goes, then render again",
            where=Location(str(out)),
        ) from None
    return True


def _write_files(files: dict[str, str], directory: Path) -> None:
    """Every file under a new directory, with the permissions the umask gives."""
    root = os.fspath(directory)
    made = {""}
    for path, text in files.items():
        parent = path.rpartition("/")[0]
        if parent not in made:
            os.makedirs(os.path.join(root, parent), exist_ok=True)
            made.add(parent)
        handle = os.open(os.path.join(root, path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            data = memoryview(text.encode())
            while data:
                data = data[os.write(handle, data) :]
        finally:
            os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def _swap(new: Path, out: Path) -> None:
    """Put ``new`` at ``out``; the old chart ends up at ``new`` and is removed by the caller."""
    if not out.exists():
        new.rename(out)
        new.mkdir()
        return
    if _exchange(new, out):
        return
    old = new.with_suffix(".old")
    out.rename(old)
    try:
        new.rename(out)
    except OSError:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def _remove_leftovers(out: Path) -> None:
    """Remove staging directories a killed render left beside ``out``."""
    for leftover in out.parent.glob(f".{out.name}.*.tmp"):
        with contextlib.suppress(OSError):
            shutil.rmtree(leftover)


def _files_under(directory: Path) -> set[str]:
    """The relative paths of the files under a directory (none if it does not exist)."""
    root = os.fspath(directory)
    found: set[str] = set()
    for parent, _dirs, names in os.walk(root):
        prefix = os.path.relpath(parent, root).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        found.update(prefix + name for name in names)
    return found


def _read(directory: Path, path: str) -> bytes:
    with open(os.path.join(directory, path), "rb") as handle:
        return handle.read()


def _diff(before: str, after: str, path: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
