"""Write: swap a rendered chart into place atomically, or compare it with what is on disk."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chartgen.errors import ChartgenError, Location
from chartgen.load.sources import HEADER

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


def compare(files: Files, out: Path) -> list[Difference]:
    """The differences between rendered files and the chart directory, by path.

    A render into the same directory waits until the comparison is done, and the other way.
    """
    try:
        with _locked(out, fcntl.LOCK_SH):
            return _compare(files, out)
    except OSError as err:
        raise ChartgenError.single(
            f"cannot read the chart: {err.strerror or err}",
            fix=_os_fix(err, "fix the permissions of the chart directory"),
            where=Location(str(out)),
        ) from None


def _compare(files: Files, out: Path) -> list[Difference]:
    on_disk = _files_under(out)
    found, seen = [], set()
    for path, text in _pairs(files):
        seen.add(path)
        if path not in on_disk:
            found.append(Difference(path, "missing", _diff("", text, path)))
            continue
        current = _read(out, path)
        if current != text.encode():
            before = current.decode("utf-8", errors="replace")
            found.append(Difference(path, "changed", _diff(before, text, path)))
    for path in on_disk - seen:
        before = _read(out, path).decode("utf-8", errors="replace")
        found.append(Difference(path, "extra", _diff(before, "", path)))
    return sorted(found, key=lambda difference: difference.path)


def write_chart(
    files: Files,
    out: Path,
    inputs: Sequence[Path] = (),
    *,
    replace: bool = False,
    waiting: Callable[[Path], None] = lambda directory: None,
) -> bool:
    """Write the chart into a new directory beside ``out``, then swap it in.

    Files are written as they come: a failure at any point, in writing or in producing them,
    leaves the previous chart as it was. A chart already on disk byte for byte is left
    untouched (its files keep their times); returns whether it wrote.

    Nothing chartgen did not write is lost: ``out`` may not hold ``inputs`` (the spec and
    values files) nor lie inside a chart, and files in it without chartgen's header are
    refused unless ``replace``. Renders beside one another take turns: ``waiting`` is told
    when another one holds the directory.
    """
    out = Path(os.path.realpath(out))  # a symlinked chart is written where the link points
    try:
        _refuse_destroying(out, inputs)
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out, fcntl.LOCK_EX, waiting):
            return _write(files, out, replace)
    except OSError as err:
        raise ChartgenError.single(
            f"cannot write the chart: {err.strerror or err}; the chart on disk is unchanged",
            fix=_os_fix(
                err, "free space or fix permissions where the chart goes, then render again"
            ),
            where=Location(str(out)),
        ) from None


def _os_fix(err: OSError, otherwise: str) -> str:
    """How to fix a failed file operation on the chart."""
    if err.errno == errno.ENAMETOOLONG:
        return "choose a shorter --out path: each name in it at most 200 characters"
    return otherwise


def _refuse_destroying(out: Path, inputs: Sequence[Path]) -> None:
    """Stop before a render could delete an input or write into another chart."""
    if out.exists() and not out.is_dir():
        raise _refused(out, "the output path exists and is not a directory", "choose another --out")
    chart = next((p for p in out.parents if is_generated(p)), None)
    if chart is not None:
        raise _refused(out, f"--out lies inside the chart {chart}", f"write to {chart} itself")
    for path in inputs:
        if Path(os.path.realpath(path)).is_relative_to(out):
            raise _refused(
                out,
                f"{path} lies inside --out, and writing the chart would delete it",
                "keep spec and values files outside the chart directory, or choose another --out",
            )
    if out.is_dir() and any(out.iterdir()) and not is_generated(out):
        raise _refused(
            out,
            f"refusing to overwrite a directory chartgen did not write ({MARKER_FILE} lacks "
            f"the '{HEADER}' line)",
            "choose an empty or new --out directory, or remove this one first",
        )


def _refused(out: Path, what: str, fix: str) -> ChartgenError:
    return ChartgenError.single(what, fix=fix, where=Location(str(out)))


@contextlib.contextmanager
def _locked(
    out: Path, kind: int, waiting: Callable[[Path], None] = lambda directory: None
) -> Iterator[None]:
    """Hold a lock on the directory that holds ``out``: one writer, or readers, at a time.

    The kernel drops the lock of a render that is killed.
    """
    try:
        handle = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:  # nothing there yet to read or to wait for
        yield
        return
    try:
        try:
            fcntl.flock(handle, kind | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(out.parent)
            fcntl.flock(handle, kind)
        yield
    finally:
        os.close(handle)


def _write(files: Files, out: Path, replace: bool) -> bool:
    on_disk = _files_under(out)
    foreign = sorted(path for path in on_disk if not _owned(out / path))
    if foreign and not replace:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise _refused(
            out,
            f"{len(foreign)} file(s) in the chart directory are not chartgen's: {shown}",
            "move them out of the chart (keep additions in the spec), or pass --replace to "
            "delete them",
        )
    _remove_leftovers(out)  # under the lock: every staging directory left is a dead render's
    with _Staging(out) as staging:
        unchanged: list[str] = []  # identical on disk, linked only if anything differs
        for path, text in _pairs(files):
            data = text.encode()
            if path in on_disk and _read(out, path) == data:
                if staging.started:
                    staging.link(path)
                else:
                    unchanged.append(path)
                continue
            if not staging.started:
                staging.start(unchanged)
            staging.write(path, data)
        if not staging.started:
            if len(unchanged) == len(on_disk):
                return False
            staging.start(unchanged)
        staging.finish()
        _swap(staging.directory, out)
    return True


def _owned(path: Path) -> bool:
    """Whether a file carries chartgen's header near its start, as every file it writes does."""
    try:
        with path.open("rb") as handle:
            return HEADER.encode() in handle.read(512)
    except OSError:
        return False


#: Rendered files: {path: text}, or (path, text) pairs as they are rendered.
Files = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(files: Files) -> Iterable[tuple[str, str]]:
    return files.items() if isinstance(files, Mapping) else files


class _Staging:
    """A new directory beside the chart, filled file by file as they are rendered.

    Leaving the ``with`` block removes it unless it was swapped into place.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.directory = Path()
        self.started = False
        self._made = {""}

    def __enter__(self) -> _Staging:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.started:
            _remove_tree(self.directory)

    def start(self, unchanged: Iterable[str]) -> None:
        """Make the directory, holding the files found unchanged so far."""
        self.directory = Path(
            tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".tmp", dir=self.out.parent)
        )
        self.started = True
        for path in unchanged:
            self.link(path)

    def link(self, path: str) -> None:
        """Take an unchanged file over from the chart on disk: same inode, same times.

        A re-render then creates (and the swap deletes) only the files that changed.
        """
        self._make_parent(path)
        source = self.out / path
        try:
            if source.is_symlink():
                raise OSError("a link in the chart: copy what it points to")
            os.link(source, self.directory / path, follow_symlinks=False)
        except OSError:  # or a file system without hard links
            self.write(path, _read(self.out, path))

    def write(self, path: str, data: bytes) -> None:
        """A new file with the permissions the umask gives."""
        self._make_parent(path)
        handle = os.open(self.directory / path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        finally:
            os.close(handle)

    def _make_parent(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if parent not in self._made:
            os.makedirs(os.path.join(self.directory, parent), exist_ok=True)
            self._made.add(parent)

    def finish(self) -> None:
        """Give the directory the mode the umask gives."""
        umask = os.umask(0)
        os.umask(umask)
        self.directory.chmod(0o777 & ~umask)


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
    _remove_tree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2); False where unsupported."""
    import ctypes.util  # noqa: PLC0415

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
    for leftover in [
        *out.parent.glob(f".{out.name}.*.tmp"),
        *out.parent.glob(f".{out.name}.*.old"),
    ]:
        _remove_tree(leftover)


def _remove_tree(path: Path) -> None:
    """Remove a directory tree, read-only directories in it too (an old chart made read-only)."""

    def writable_then_again(function: Callable[[str], object], name: str, _: object) -> None:
        os.chmod(os.path.dirname(name), 0o700)
        function(name)

    with contextlib.suppress(OSError):
        shutil.rmtree(path, onerror=writable_then_again)


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
    import difflib  # noqa: PLC0415

    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
