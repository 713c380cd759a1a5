"""Outputs are written whole or not at all, never over an input, a device or someone else's files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap import io as gio
from geomap.cli import main
from geomap.errors import OutputError

PROVIDERS = "tests/fixtures/providers_small.csv"
ROOT = Path(__file__).parent.parent


def _run(folder: Path, files: dict[str, str], *, fail: bool = False) -> None:
    """One run of a command that writes ``files`` into ``folder`` (failing at the end if asked)."""
    with gio.replace_folder(folder, command="test") as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)
        if fail:
            raise OutputError("disk full (simulated)")


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != gio.OUTPUT_MARKER
    }  # every other file counts: a stale lock or staging folder would show here


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name not in (folder.name, "scripts"))


def test_folder_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one", "maps/bike_primary.html": "bike", "a.csv": "1"})
    marker = json.loads((out / gio.OUTPUT_MARKER).read_text())
    assert marker["files"] == ["a.csv", "index.html", "maps/bike_primary.html"]
    _run(out, {"index.html": "two", "maps/walk_primary.html": "walk"})
    # the bike map and the table of the first run are not carried over
    assert _tree(out) == {"index.html": "two", "maps/walk_primary.html": "walk"}
    assert _siblings(out) == []  # no staging folder, no old copy, no lock left


def test_a_failed_run_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one", "maps/x.html": "x"})
    with pytest.raises(OutputError, match="disk full"):
        _run(out, {"index.html": "two"}, fail=True)
    assert _tree(out) == {"index.html": "one", "maps/x.html": "x"}
    assert _siblings(out) == []


def test_a_failure_while_swapping_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _run(out, {"index.html": "one"})
    _run(out / "post16", {"post16_map.html": "p16"})
    real = os.rename

    def rename(src, dst):
        if ".geomap-staging-" in str(src) and Path(dst) == out.resolve():
            raise PermissionError(
                13, "Permission denied (simulated: a file is open elsewhere)", str(dst)
            )
        return real(src, dst)

    monkeypatch.setattr(gio.os, "rename", rename)
    with pytest.raises(OutputError, match="simulated"):
        _run(out, {"index.html": "two"})
    monkeypatch.setattr(gio.os, "rename", real)
    assert _tree(out) == {"index.html": "one", "post16/post16_map.html": "p16"}
    assert _siblings(out) == []


def test_nested_outputs_of_other_commands_are_kept(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one"})
    _run(out / "post16", {"post16_map.html": "p16"})
    _run(out, {"index.html": "two"})
    assert _tree(out) == {"index.html": "two", "post16/post16_map.html": "p16"}


def test_files_geomap_did_not_write_are_never_deleted(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one"})
    (out / "my notes.docx").write_text("precious")
    (out / ".DS_Store").write_text("finder clutter")
    with pytest.raises(OutputError, match=r"holds files geomap did not write \(my notes.docx\)"):
        _run(out, {"index.html": "two"})
    assert (out / "my notes.docx").read_text() == "precious"
    assert (out / "index.html").read_text() == "one"
    (out / "my notes.docx").unlink()
    _run(out, {"index.html": "two"})  # desktop clutter alone does not stop a run
    assert _tree(out) == {"index.html": "two"}


def test_a_second_run_into_the_same_folder_is_stopped(tmp_path):
    out = tmp_path / "out"
    with gio._folder_lock(out.resolve()), pytest.raises(OutputError, match="another geomap run"):
        _run(out, {"index.html": "two"})
    assert not out.exists()
    _run(out, {"index.html": "three"})  # the lock went with the first run
    assert _tree(out) == {"index.html": "three"}


def test_a_lock_held_by_another_process(tmp_path):
    out = tmp_path / "out"
    out_s = str(out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from geomap import io
                with io._folder_lock(Path({out_s!r}).resolve()):
                    print("locked", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(main, ["post16", "--providers", PROVIDERS, "--out", str(out)])
        assert result.exit_code == 1
        assert "another geomap run is writing to" in result.output and "pid" in result.output
        assert "Traceback" not in result.output
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from geomap import io
out = Path(sys.argv[1])
stage_at = sys.argv[2]
real = os.rename
def rename(src, dst):
    real(src, dst)
    if stage_at == "between" and ".geomap-old-" in str(dst):
        os.kill(os.getpid(), signal.SIGKILL)
io.os.rename = rename
with io.replace_folder(out) as stage:
    (stage / "index.html").write_text("new")
    (stage / "big.bin").write_bytes(b"x" * 1_000_000)
    if stage_at == "writing":
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("when", ["writing", "between"])
def test_leftovers_of_a_killed_run_are_tidied_by_the_next(tmp_path, when):
    out = tmp_path / "out"
    _run(out, {"index.html": "old"})
    _run(out / "post16", {"post16_map.html": "p16"})
    script = tmp_path / "scripts" / "killed.py"
    script.parent.mkdir()
    script.write_text(KILLED_RUN)
    done = subprocess.run([sys.executable, str(script), str(out), when], cwd=ROOT, check=False)
    assert done.returncode == -9
    assert _siblings(out)  # the killed run left something beside the folder
    # the next run (even one that fails) first puts the folder back as it was
    with pytest.raises(OutputError, match="disk full"):
        _run(out, {"index.html": "newer"}, fail=True)
    assert _tree(out) == {"index.html": "old", "post16/post16_map.html": "p16"}
    assert _siblings(out) == []


def test_staging_folders_of_older_versions_are_removed(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one"})
    stale = out / ".geomap-staging-abc123"
    stale.mkdir()
    (stale / "geomap.gpkg").write_bytes(b"x" * 1000)
    _run(out, {"index.html": "two"})
    assert not stale.exists() and _tree(out) == {"index.html": "two"}


# --------------------------------------------------------------------------- the CLI


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_out_may_not_be_an_input(tmp_path):
    source = tmp_path / "register.csv"
    source.write_text(Path(PROVIDERS).read_text())
    before = source.read_bytes()
    result = _invoke("providers", str(source), "--out", str(source))
    assert result.exit_code == 1
    assert "is an input of this run" in result.output and "Traceback" not in result.output
    assert source.read_bytes() == before


def test_out_folder_may_not_hold_an_input(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    source = out / "providers.csv"
    source.write_text(Path(PROVIDERS).read_text())
    result = _invoke("post16", "--providers", str(source), "--out", str(out))
    assert result.exit_code == 1 and "holds an input of this run" in result.output
    assert [p.name for p in out.iterdir()] == ["providers.csv"]


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
def test_out_may_not_be_a_device(tmp_path):
    result = _invoke("providers", PROVIDERS, "--out", "/dev/null")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_out_may_not_be_a_pipe(tmp_path):
    pipe = tmp_path / "p.csv"
    os.mkfifo(pipe)
    result = _invoke("providers", PROVIDERS, "--out", str(pipe))
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_out_below_an_existing_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    for args in (
        ("providers", PROVIDERS, "--out", str(blocker / "clean.csv")),
        ("post16", "--providers", PROVIDERS, "--out", str(blocker / "post16")),
    ):
        result = _invoke(*args)
        assert result.exit_code == 1, result.output
        assert "is a file, not a folder" in result.output and "Traceback" not in result.output
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("providers", PROVIDERS, "--out", "clean.xlsx"),
            "'.xlsx' is not a format this command writes",
        ),
        (
            ("map", "--providers", PROVIDERS, "--out", "m.png"),
            "give --format png, or a file name ending .html",
        ),
        (("providers", PROVIDERS, "--out", "clean"), "no suffix is not a format"),
    ],
)
def test_out_suffix_must_match_what_is_written(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    result = _invoke(*args)
    assert result.exit_code == 1 and words in result.output
    assert list(tmp_path.iterdir()) == []


def test_two_outputs_may_not_be_one_file(tmp_path):
    same = tmp_path / "gaps.csv"
    result = _invoke("gaps", "--mode", "walk", "--out", str(same), "--summary-out", str(same))
    assert result.exit_code == 1 and "name the same file" in result.output
    assert not same.exists()


def test_out_may_not_be_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke("post16", "--providers", str(ROOT / PROVIDERS), "--out", ".")
    assert result.exit_code == 1 and "current folder" in result.output


def test_a_bad_input_leaves_no_empty_output_folder(tmp_path):
    scenario = tmp_path / "s.yml"
    scenario.write_text("scenario: nothing\nroutes: []\n")
    out = tmp_path / "routes"
    result = _invoke("routes", "evaluate", str(scenario), "--out", str(out))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.slow
def test_maps_of_modes_no_longer_run_are_not_carried_over(tmp_path):
    out = tmp_path / "out"
    assert _invoke("report", "--quiet", "--mode", "bike", "--out", str(out)).exit_code == 0
    assert (out / "maps" / "bike_primary.html").exists()
    again = _invoke("report", "--quiet", "--mode", "walk", "--out", str(out))
    assert again.exit_code == 0, again.output
    maps = {p.name for p in (out / "maps").iterdir()}
    assert "walk_primary.html" in maps and not any(m.startswith("bike_") for m in maps)
    assert _siblings(out) == []


def test_files_added_inside_a_subfolder_are_never_deleted(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one", "maps/walk.html": "w"})
    (out / "maps" / "my_notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"did not write \(maps/my_notes.txt\)"):
        _run(out, {"index.html": "two", "maps/walk.html": "w2"})
    assert (out / "maps" / "my_notes.txt").read_text() == "mine"


def test_a_folder_geomap_never_wrote_is_not_replaced(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "post16_areas.csv").write_text("budget")  # same name as an output
    (mine / "~$budget.xlsx").write_text("an open workbook")
    with pytest.raises(OutputError, match="no geomap marker"):
        _run(mine, {"post16_areas.csv": "new"})
    assert (mine / "post16_areas.csv").read_text() == "budget"


def test_a_nested_output_in_the_way_of_a_new_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    _run(out, {"index.html": "one"})
    _run(out / "maps", {"post16_map.html": "p16"})
    with pytest.raises(OutputError, match="output of another geomap command"):
        _run(out, {"index.html": "two", "maps/walk.html": "w"})
    assert _tree(out) == {"index.html": "one", "maps/post16_map.html": "p16"}


def test_output_folders_keep_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh"
        _run(fresh, {"a.csv": "1"})
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o755
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o2775)
        _run(shared, {"a.csv": "1"})
        assert stat.S_IMODE(shared.stat().st_mode) == 0o2775
    finally:
        os.umask(old)


def test_out_through_a_dangling_link_or_a_loop_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("dangling.csv").symlink_to(tmp_path / "nowhere" / "y.csv")
    Path("loop.csv").symlink_to("loop.csv")
    for name in ("dangling.csv", "loop.csv"):
        result = _invoke("providers", str(ROOT / PROVIDERS), "--out", name)
        assert result.exit_code == 1 and "symbolic link" in result.output, result.output
    assert not (tmp_path / "nowhere").exists()


def test_out_may_not_be_the_current_folder_through_a_link(tmp_path, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "link"
    link.symlink_to(here)
    monkeypatch.chdir(here)
    result = _invoke("post16", "--providers", str(ROOT / PROVIDERS), "--out", str(link))
    assert result.exit_code == 1 and "current folder" in result.output
    assert here.is_dir()
