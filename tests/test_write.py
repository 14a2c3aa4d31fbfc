"""Write: atomic swap, refusal to clobber foreign directories, and --check comparisons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chartgen.write as write_module
from chartgen.errors import ChartgenError
from chartgen.load.sources import HEADER
from chartgen.write import compare, is_generated, write_chart

from .specdata import read_tree

#: What every file chartgen writes starts with.
H = f"# {HEADER}\n"
FILES = {
    "Chart.yaml": H + "name: demo\n",
    "templates/a.yaml": H + "a: 1\n",
}


def test_a_new_chart_is_written_with_exactly_the_rendered_files(tmp_path):
    out = tmp_path / "charts" / "demo"
    write_chart(FILES, out)
    assert read_tree(out) == {k: v.encode() for k, v in FILES.items()}
    assert is_generated(out)
    assert [p.name for p in out.parent.iterdir()] == ["demo"]  # no staging left behind


def test_a_rewrite_replaces_the_chart_and_drops_stale_files(tmp_path):
    out = tmp_path / "demo"
    write_chart({**FILES, "templates/old.yaml": H + "old: 1\n"}, out)
    write_chart(FILES, out)
    assert sorted(read_tree(out)) == ["Chart.yaml", "templates/a.yaml"]


def test_a_directory_chartgen_did_not_write_is_left_alone(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ChartgenError, match="refusing to overwrite"):
        write_chart(FILES, out)
    assert read_tree(out) == {"notes.txt": b"keep me"}


def test_a_failure_mid_swap_leaves_the_old_chart_intact(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    write_chart(FILES, out)
    before = read_tree(out)

    def refused(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(write_module, "_swap", refused)
    with pytest.raises(ChartgenError, match="Permission denied; the chart on disk is unchanged"):
        write_chart({**FILES, "templates/a.yaml": H + "a: 2\n"}, out)
    assert read_tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_leftovers_of_a_killed_render_are_cleaned_up(tmp_path):
    out = tmp_path / "demo"
    leftover = tmp_path / ".demo.abc123.tmp"
    leftover.mkdir()
    (leftover / "Chart.yaml").write_text("half")
    write_chart(FILES, out)
    assert not leftover.exists()


def test_compare_names_changed_missing_and_extra_files(tmp_path):
    out = tmp_path / "demo"
    write_chart({**FILES, "extra.txt": H + "x\n"}, out)
    rendered = {**FILES, "templates/a.yaml": H + "a: 2\n", "new.yaml": H + "n: 1\n"}
    found = {(d.path, d.status) for d in compare(rendered, out)}
    assert found == {
        ("templates/a.yaml", "changed"),
        ("new.yaml", "missing"),
        ("extra.txt", "extra"),
    }
    [changed] = [d for d in compare(rendered, out) if d.status == "changed"]
    assert "-a: 1\n+a: 2\n" in changed.diff


def test_compare_is_empty_when_nothing_changed(tmp_path):
    write_chart(FILES, tmp_path / "demo")
    assert compare(FILES, tmp_path / "demo") == []


def test_a_chart_already_on_disk_is_left_untouched(tmp_path):
    out = tmp_path / "demo"
    assert write_chart(FILES, out) is True
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")}
    assert write_chart(FILES, out) is False
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")} == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


@pytest.mark.parametrize(
    "on_disk",
    [
        {**FILES, "templates/a.yaml": H + "a: 2\n"},  # a file differs
        {**FILES, "templates/b.yaml": H + "b: 1\n"},  # an extra file
        {"Chart.yaml": FILES["Chart.yaml"]},  # a file is missing
    ],
)
def test_any_difference_rewrites_the_whole_chart(tmp_path, on_disk):
    out = tmp_path / "demo"
    write_chart(on_disk, out)
    assert write_chart(FILES, out) is True
    assert read_tree(out) == {k: v.encode() for k, v in FILES.items()}


def test_a_rewrite_links_unchanged_files_and_creates_only_the_changed_ones(tmp_path):
    out = tmp_path / "demo"
    write_chart({**FILES, "templates/b.yaml": H + "b: 1\n", "templates/c.yaml": H + "c: 1\n"}, out)
    before = {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*.yaml")}
    # b changes between two unchanged files: those before and after it are both linked
    write_chart({**FILES, "templates/b.yaml": H + "b: 2\n", "templates/c.yaml": H + "c: 1\n"}, out)
    after = {p.relative_to(out).as_posix(): p.stat() for p in out.rglob("*.yaml")}
    assert {path for path, stat in after.items() if stat.st_ino == before[path]} == {
        "Chart.yaml",
        "templates/a.yaml",
        "templates/c.yaml",
    }
    assert all(stat.st_nlink == 1 for stat in after.values())  # the old chart is gone
    assert (out / "templates" / "b.yaml").read_text() == H + "b: 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_a_symlink_in_the_chart_is_replaced_by_a_file(tmp_path):
    out, target = tmp_path / "demo", tmp_path / "target.yaml"
    write_chart(FILES, out)
    target.write_text(H + "a: 1\n")
    (out / "templates" / "a.yaml").unlink()
    (out / "templates" / "a.yaml").symlink_to(target)
    write_chart({**FILES, "templates/b.yaml": H + "b: 1\n"}, out)
    assert not (out / "templates" / "a.yaml").is_symlink()
    assert read_tree(out)["templates/a.yaml"] == (H + "a: 1\n").encode()


def test_files_are_written_as_they_come_and_a_failure_midway_changes_nothing(tmp_path):
    out = tmp_path / "demo"
    write_chart(FILES, out)
    before = read_tree(out)
    staged = []

    def files():
        yield "Chart.yaml", FILES["Chart.yaml"]
        yield "templates/new.yaml", H + "n: 1\n"
        staged.extend(p.name for p in tmp_path.iterdir())
        raise ChartgenError.single("render failed", fix="fix it")

    with pytest.raises(ChartgenError, match="render failed"):
        write_chart(files(), out)
    assert any(name.startswith(".demo.") for name in staged)  # writing had begun
    assert read_tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_compare_takes_the_files_as_they_come(tmp_path):
    write_chart(FILES, tmp_path / "demo")
    changed = iter([("templates/a.yaml", H + "a: 2\n"), ("Chart.yaml", FILES["Chart.yaml"])])
    assert [(d.path, d.status) for d in compare(changed, tmp_path / "demo")] == [
        ("templates/a.yaml", "changed")
    ]


#: A few paths, some sharing directories, so successive charts overlap and differ.
PATHS = st.sampled_from(["a.yaml", "templates/a.yaml", "templates/b.yaml", "templates/x/c.yaml"])
CHARTS = st.dictionaries(PATHS, st.sampled_from([H + "1\n", H + "2\n", H + "é\n"]), max_size=4)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(CHARTS, min_size=1, max_size=5))
def test_successive_writes_leave_exactly_each_chart_and_keep_what_did_not_change(
    tmp_path_factory, charts
):
    root = tmp_path_factory.mktemp("charts")
    out = root / "demo"
    before: dict[str, tuple[int, bytes]] = {}
    for chart in charts:
        files = {**FILES, **chart}
        wrote = write_chart(files, out)
        tree = read_tree(out)
        assert tree == {path: text.encode() for path, text in files.items()}
        assert wrote == ({p: b for p, (_, b) in before.items()} != tree)
        inodes = {
            p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()
        }
        for path, (inode, content) in before.items():
            if tree.get(path) == content:
                assert inodes[path] == inode, path  # unchanged: the same file, linked or untouched
        before = {path: (inodes[path], tree[path]) for path in tree}
        assert [p.name for p in root.iterdir()] == ["demo"]  # no staging left behind


def test_a_file_chartgen_did_not_write_stops_the_render_unless_replaced(tmp_path):
    out = tmp_path / "demo"
    write_chart(FILES, out)
    (out / "templates" / "mine.yaml").write_text("kind: ConfigMap\n")
    before = read_tree(out)
    with pytest.raises(ChartgenError) as caught:
        write_chart({**FILES, "templates/a.yaml": H + "a: 2\n"}, out)
    [diagnostic] = caught.value.diagnostics
    assert (
        diagnostic.what
        == "1 file(s) in the chart directory are not chartgen's: templates/mine.yaml"
    )
    assert "--replace" in diagnostic.fix
    assert read_tree(out) == before
    assert write_chart(FILES, out, replace=True) is True
    assert read_tree(out) == {k: v.encode() for k, v in FILES.items()}


@pytest.mark.parametrize("where", ["platform.yaml", "templates/env.yaml"])
def test_an_input_inside_out_is_refused_and_kept(tmp_path, where):
    out = tmp_path / "demo"
    write_chart(FILES, out)
    kept = out / where
    kept.write_text(H + "kept\n")  # even one that looks like chartgen's own
    with pytest.raises(ChartgenError, match=f"{kept} lies inside --out"):
        write_chart(FILES, out, [kept])
    assert kept.read_text() == H + "kept\n"


def test_an_out_inside_a_chart_is_refused(tmp_path):
    out = tmp_path / "demo"
    write_chart(FILES, out)
    before = read_tree(out)
    with pytest.raises(ChartgenError, match=f"--out lies inside the chart {out}"):
        write_chart(FILES, out / "nested")
    assert read_tree(out) == before


def test_a_symlinked_out_is_written_where_it_points_and_leaves_nothing_beside(tmp_path):
    target, link = tmp_path / "real", tmp_path / "link"
    write_chart(FILES, target)
    link.symlink_to(target)
    write_chart({**FILES, "templates/a.yaml": H + "a: 2\n"}, link)
    assert link.is_symlink()
    assert read_tree(target)["templates/a.yaml"] == (H + "a: 2\n").encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def as_unprivileged(command: list[str]) -> list[str]:
    """``command`` as a user write permissions hold for: root's own runs as nobody, able to read.

    Root writes into read-only directories, so under root the command runs as nobody, keeping
    only CAP_DAC_READ_SEARCH to read the checkout and the virtualenv wherever they are.
    """
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root for this test"
    caps = "+dac_read_search"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
            f"--inh-caps={caps}", f"--ambient-caps={caps}", *command]  # fmt: skip


@pytest.fixture
def work():
    """A directory the unprivileged user owns, on a path it can walk (pytest's is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="chartgen-ro-"))
    path.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
    yield path
    for directory in [path, *path.rglob("*")]:
        if directory.is_dir() and not directory.is_symlink():
            directory.chmod(0o755)
    shutil.rmtree(path)


def test_a_read_only_chart_is_replaced_and_leaves_nothing_beside(work):
    render = [sys.executable, "-m", "chartgen", "render", "--out", str(work / "chart")]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    first = subprocess.run(as_unprivileged(render), capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    (work / "chart" / "templates" / "old.yaml").write_text(H)  # a stale file of an old chart
    for directory in [work / "chart", *(work / "chart").rglob("*")]:
        if directory.is_dir():
            directory.chmod(0o555)
    again = subprocess.run(as_unprivileged(render), capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert "old.yaml" not in read_tree(work / "chart")
    assert [p.name for p in work.iterdir() if p.name != ".chartgen.lock"] == ["chart"]

    (work / "chart" / "templates" / "old.yaml").write_text(H)
    work.chmod(0o555)  # now --out's directory is read-only: the chart stays as it was
    before = read_tree(work / "chart")
    refused = subprocess.run(as_unprivileged(render), capture_output=True, text=True, env=env)
    work.chmod(0o755)
    assert refused.returncode == 1
    assert "Permission denied" in refused.stderr and "Traceback" not in refused.stderr
    assert read_tree(work / "chart") == before


@pytest.mark.parametrize("length", [250, 300])
def test_an_out_name_too_long_for_the_filesystem_is_a_located_error(tmp_path, length):
    out = tmp_path / ("x" * length)  # 250 fits, but not the staging directory beside it
    with pytest.raises(ChartgenError) as caught:
        write_chart(FILES, out)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.what == (
        "cannot write the chart: File name too long; the chart on disk is unchanged"
    )
    assert diagnostic.fix.startswith("choose a shorter --out path")
    assert list(tmp_path.iterdir()) == []
