"""The render cache: same inputs give the same chart without rendering; any change is a miss."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from chartgen import cache, values
from chartgen.cache import KEPT_RENDERS, Rendered, load_render, render_key, store_render
from chartgen.errors import Diagnostic, Location
from chartgen.sources import embedded_spec_text

from .conftest import ROOT
from .specdata import read_tree

#: Runs the CLI, then prints which heavy modules the run imported.
PROBE = """
import sys
import time
from chartgen.cli import main
try:
    main(sys.argv[1:])
finally:
    heavy = {"pydantic.main", "jinja2", "ruamel.yaml", "chartgen.generate", "chartgen.render"}
    print("imported:", " ".join(sorted(heavy & set(sys.modules))), file=sys.stderr)
"""
# A spec with a warning (an env var read from a Secret), so warnings must come back too.
WARNING_SPEC = embedded_spec_text().replace(
    "    env:\n",
    "    env:\n      - name: EXTRA_TOKEN\n        secret: {name: extra, key: token}\n",
    1,
)


def chartgen(cache_dir: Path | str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``chartgen`` in its own process with the given cache directory."""
    env = {**os.environ, "CHARTGEN_CACHE_DIR": str(cache_dir), "NO_COLOR": "1"}
    command = [sys.executable, "-c", PROBE, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def split_imports(stderr: str) -> tuple[str, set[str]]:
    """The command's own stderr, and the heavy modules the probe saw imported."""
    own, _, imported = stderr.rpartition("imported:")
    return own, set(imported.split())


def test_a_render_from_the_cache_is_the_render_it_stored(tmp_path):
    assert "EXTRA_TOKEN" in WARNING_SPEC
    spec = tmp_path / "spec.yaml"
    spec.write_text(WARNING_SPEC)
    first = chartgen(tmp_path / "cache", "render", "--spec", spec, "--out", tmp_path / "a")
    second = chartgen(tmp_path / "cache", "render", "--spec", spec, "--out", tmp_path / "b")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    first_err, first_imports = split_imports(first.stderr)
    second_err, second_imports = split_imports(second.stderr)
    assert "warning: env var EXTRA_TOKEN reads a Secret" in first_err
    assert second_err == first_err
    assert read_tree(tmp_path / "b") == read_tree(tmp_path / "a")
    assert {"pydantic.main", "jinja2", "chartgen.render"} <= first_imports
    assert second_imports == set()  # served from the cache: nothing parsed or templated


def test_the_cached_default_chart_is_the_committed_one(tmp_path):
    for run in ("cold", "warm"):
        result = chartgen(tmp_path / "cache", "render", "--out", tmp_path / run)
        assert result.returncode == 0, result.stderr
        assert read_tree(tmp_path / run) == read_tree(ROOT / "charts" / "vaultmesh"), run
    check = chartgen(
        tmp_path / "cache", "render", "--check", "--out", ROOT / "charts" / "vaultmesh"
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_failed_render_is_not_kept(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(embedded_spec_text().replace("replicas: 2", "replicas: two", 1))
    for _ in range(2):
        result = chartgen(tmp_path / "cache", "render", "--spec", spec, "--out", tmp_path / "out")
        assert result.returncode == 1
        assert "nothing written" in result.stderr
    assert not list((tmp_path / "cache" / "renders").glob("*.render"))
    assert not (tmp_path / "out").exists()


def test_strict_is_part_of_the_key(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(WARNING_SPEC)
    lenient = chartgen(tmp_path / "cache", "render", "--spec", spec, "--out", tmp_path / "out")
    assert lenient.returncode == 0, lenient.stderr
    strict = chartgen(
        tmp_path / "cache", "render", "--strict", "--spec", spec, "--out", tmp_path / "out"
    )
    assert strict.returncode == 1
    assert "error: env var EXTRA_TOKEN reads a Secret" in strict.stderr


def test_any_change_to_an_input_is_another_key():
    specs = [("spec.yaml", "chart: {}\n")]
    values = [("staging.yaml", "replicas: 2\n")]
    key = render_key(specs, values, strict=False)
    assert render_key(list(specs), list(values), strict=False) == key
    others = {
        render_key([("spec.yaml", "chart: {} \n")], values, strict=False),
        render_key([("other.yaml", "chart: {}\n")], values, strict=False),
        render_key(specs, [], strict=False),
        render_key(specs, values, strict=True),
        render_key([*specs, *values], [], strict=False),  # a values file is not a spec file
        render_key([("spec.yaml", "chart: {}\n"), ("", "")], values, strict=False),
    }
    assert key not in others
    assert len(others) == 6


def test_the_code_counts_by_content_not_by_file_times(tmp_path):
    package = tmp_path / "package"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.jinja").write_text("[[ b ]]\n")
    digest = cache.source_digest([package])
    os.utime(package / "a.py", (0, 0))
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython.pyc").write_bytes(b"\0")
    assert cache.source_digest([package]) == digest
    (package / "sub" / "b.jinja").write_text("[[ c ]]\n")
    edited = cache.source_digest([package])
    (package / "sub" / "b.jinja").rename(package / "sub" / "c.jinja")
    renamed = cache.source_digest([package])
    assert len({digest, edited, renamed}) == 3


def test_the_key_covers_chartgen_its_templates_and_libraries():
    digest = cache.toolchain_digest()
    assert digest == cache.toolchain_digest()
    package = Path(cache.__file__).parent
    assert cache.source_digest([package]) != cache.source_digest([ROOT / "templates"])
    assert {"jinja2", "pydantic", "pydantic_core", "ruamel.yaml"} <= set(cache.SHAPING_LIBRARIES)


def rendered(number: int) -> Rendered:
    warning = Diagnostic(Location("spec.yaml", 3, "services[0]"), "what", "fix", warning=True)
    return Rendered("demo", {"Chart.yaml": f"name: demo-{number}\n"}, (warning,))


def test_an_entry_reads_back_as_stored_and_a_broken_one_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTGEN_CACHE_DIR", str(tmp_path))
    store_render("k" * 64, rendered(1))
    assert load_render("k" * 64) == rendered(1)
    assert load_render("m" * 64) is None
    entry = tmp_path / "renders" / ("k" * 64 + ".render")
    for broken in (
        b"{not json",
        b'{"chart": "demo"}',
        b'{"chart":"d","files":{"a":1},"warnings":[]}',
    ):
        entry.write_bytes(broken)
        assert load_render("k" * 64) is None


def test_only_the_most_recently_used_renders_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTGEN_CACHE_DIR", str(tmp_path))
    keys = [f"{number:064d}" for number in range(KEPT_RENDERS + 3)]
    for number, key in enumerate(keys):
        store_render(key, rendered(number))
        os.utime(tmp_path / "renders" / f"{key}.render", ns=(number, number * 10**9))
    kept = sorted(p.stem for p in (tmp_path / "renders").glob("*.render"))
    assert kept == keys[-KEPT_RENDERS:]
    oldest = keys[-KEPT_RENDERS]
    assert load_render(oldest) == rendered(len(keys) - KEPT_RENDERS)  # a hit counts as a use
    store_render("f" * 64, rendered(99))
    kept = sorted(p.stem for p in (tmp_path / "renders").glob("*.render"))
    assert oldest in kept
    assert keys[-KEPT_RENDERS + 1] not in kept


@pytest.mark.parametrize("setting", ["", "blocked"])
def test_a_cache_that_is_off_or_cannot_be_written_only_costs_time(tmp_path, setting):
    blocked = tmp_path / "file"
    blocked.write_text("")
    cache_dir = "" if setting == "" else blocked / "cache"
    for run in ("first", "second"):
        result = chartgen(cache_dir, "render", "--out", tmp_path / run)
        assert result.returncode == 0, result.stderr
        assert split_imports(result.stderr)[0] == ""
        assert read_tree(tmp_path / run) == read_tree(ROOT / "charts" / "vaultmesh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "first", "second"]


def test_a_render_too_large_to_be_worth_keeping_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "LARGEST_KEPT_RENDER", len("name: demo-1\n") - 1)
    store_render("k" * 64, rendered(1))
    assert load_render("k" * 64) is None
    monkeypatch.setattr(cache, "LARGEST_KEPT_RENDER", len("name: demo-1\n"))
    store_render("k" * 64, rendered(1))
    assert load_render("k" * 64) == rendered(1)


@pytest.mark.parametrize("with_dashboards", [True, False])
def test_the_kept_values_schema_parts_are_pydantics_key_for_key(
    tmp_path, monkeypatch, with_dashboards
):
    monkeypatch.setenv("CHARTGEN_CACHE_DIR", str(tmp_path))
    fresh = values._pydantic_schema_parts(with_dashboards)

    def as_bytes(parts: values._SchemaParts) -> bytes:  # key order counts: it is the output's
        return orjson.dumps(parts._replace(title=None, taken=sorted(parts.taken))._asdict())

    try:
        for run in ("worked out, then kept", "read back"):
            values._schema_parts.cache_clear()
            parts = values._schema_parts(with_dashboards)
            assert as_bytes(parts) == as_bytes(fresh), run
            assert parts.title("for_x") == fresh.title("for_x") == "For X"
            [kept] = (tmp_path / "derived").iterdir()
            assert cache.toolchain_digest().hex() in kept.name
        kept.write_bytes(b'{"root": {}}')  # not what it should be: worked out again
        values._schema_parts.cache_clear()
        assert as_bytes(values._schema_parts(with_dashboards)) == as_bytes(fresh)
    finally:
        values._schema_parts.cache_clear()


def test_a_render_reading_the_kept_schema_parts_writes_the_committed_chart(tmp_path):
    for run in ("first", "second"):
        result = chartgen(tmp_path / "cache", "render", "--check")
        assert result.returncode == 0, (run, result.stderr)
        assert "charts/vaultmesh is up to date" in result.stdout
        for entry in (tmp_path / "cache" / "renders").iterdir():
            entry.unlink()  # the next run renders, with the derived data kept
    assert len(list((tmp_path / "cache" / "derived").iterdir())) == 1


def test_an_entry_a_killed_render_left_half_written_is_removed_in_time(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARTGEN_CACHE_DIR", str(tmp_path))
    renders = tmp_path / "renders"
    renders.mkdir()
    old, recent = renders / "old.tmp", renders / "recent.tmp"
    for path in (old, recent):
        path.write_bytes(b"half")
    hour_ago = time.time() - cache.ABANDONED_AFTER - 1
    os.utime(old, (hour_ago, hour_ago))
    store_render("k" * 64, rendered(1))
    assert sorted(p.name for p in renders.iterdir()) == ["k" * 64 + ".render", "recent.tmp"]
