"""The command line as packagers use it: machine output on stdout and messages on stderr,
``show``, ``-w``/``--wheel-dir``, ``-q``/``-v``, ``--report -``, ``verify --json``, missing
and repeated inputs, shell completions, and colour only on a terminal (``NO_COLOR``)."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import shutil
import subprocess
import zipfile
from pathlib import Path

import harness
import pytest

DEMO = harness.TESTWHEELS / "demo-1.0-py3-none-any.whl"
ESC = "\x1b["


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    wheel = tmp_path / DEMO.name
    shutil.copy(DEMO, wheel)
    return wheel


def test_written_paths_on_stdout_messages_on_stderr(demo: Path, tmp_path: Path) -> None:
    proc = harness.run_equip("instrument", demo, "-w", "out", cwd=tmp_path)
    assert proc.stdout == f"out/{DEMO.name}\n"
    assert (tmp_path / "out" / DEMO.name).is_file()
    assert proc.stderr.startswith("equip-wheel ")
    assert f"[1/1] {demo}: 6 functions in 1 modules instrumented" in proc.stderr
    # The path on stdout is usable as it is: pip installs it.
    assert zipfile.ZipFile(tmp_path / proc.stdout.strip()).testzip() is None


def test_wheel_dir_spellings(demo: Path, tmp_path: Path) -> None:
    for flag, directory in [("-w", "w"), ("--wheel-dir", "wd"), ("-o", "o"), ("--out-dir", "od")]:
        proc = harness.run_equip("instrument", "-q", demo, flag, directory, cwd=tmp_path)
        assert proc.stdout == f"{directory}/{DEMO.name}\n", flag
        assert (tmp_path / directory / DEMO.name).is_file(), flag


def test_quiet_and_verbose(demo: Path, tmp_path: Path) -> None:
    quiet = harness.run_equip("instrument", "-q", demo, "-w", "q", cwd=tmp_path)
    assert quiet.stderr == ""
    assert quiet.stdout == f"q/{DEMO.name}\n"
    normal = harness.run_equip("instrument", demo, "-w", "n", cwd=tmp_path)
    verbose = harness.run_equip("instrument", "-v", demo, "-w", "v", cwd=tmp_path)
    module_line = "    demo.greet (demo/greet.py): greet, shout, countdown, Greeter.__init__"
    assert module_line not in normal.stderr
    assert module_line in verbose.stderr
    assert verbose.stdout == f"v/{DEMO.name}\n"
    both = harness.run_equip("instrument", "-q", "-v", demo, cwd=tmp_path, check=False)
    assert both.returncode == 2 and "cannot be used with" in both.stderr
    # Errors are printed whatever the level.
    missing = harness.run_equip("instrument", "-q", "missing-1.0-py3-none-any.whl", check=False)
    assert missing.returncode == 1
    assert "no such file or directory" in missing.stderr


def test_dry_run_plan_on_stdout(demo: Path, tmp_path: Path) -> None:
    proc = harness.run_equip("instrument", "--dry-run", demo, "-w", "plan", cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0] == f"plan/{DEMO.name}"
    assert lines[1].startswith("    demo.greet (demo/greet.py): greet, shout, countdown")
    assert len(lines) == 2
    assert not (tmp_path / "plan").exists()
    assert "would write" in proc.stderr
    in_place = harness.run_equip("instrument", "--dry-run", "--in-place", demo, cwd=tmp_path)
    assert in_place.stdout.splitlines()[0] == str(demo)


def test_report_to_stdout(demo: Path, tmp_path: Path) -> None:
    proc = harness.run_equip("instrument", "-q", demo, "-w", "out", "--report", "-", cwd=tmp_path)
    report = json.loads(proc.stdout)
    assert [w["output"] for w in report["wheels"]] == [f"out/{DEMO.name}"]
    assert report["errors"] == []
    assert proc.stderr == ""
    # To a file, the paths stay on stdout.
    to_file = harness.run_equip(
        "instrument", "-q", demo, "-w", "out2", "--report", "r.json", cwd=tmp_path
    )
    assert to_file.stdout == f"out2/{DEMO.name}\n"
    assert json.loads((tmp_path / "r.json").read_text())["wheels"][0]["output"] == (
        f"out2/{DEMO.name}"
    )


def test_show_prints_the_provenance(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    harness.run_equip("instrument", "-q", demo, "-w", out, "--preset", "trace")
    written = out / DEMO.name
    proc = harness.run_equip("show", written)
    assert proc.stderr == ""
    text = proc.stdout
    digest = hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert text.startswith(f"{written}\n  instrumented by equip-wheel ")
    assert f"  input wheel: {DEMO.name} (sha256 {digest})" in text
    assert "    function-enter = _trace_enter({module}, {qualname}" in text
    assert "  Requires-Python: (none) -> >=3.8" in text
    assert "  instrumented: 6 functions, 0 probes, in 1 modules" in text
    assert "    demo.greet (demo/greet.py): 6 functions" in text

    raw = harness.run_equip("show", "--json", written, written).stdout.splitlines()
    assert len(raw) == 1  # the same wheel twice is shown once
    stored = json.loads(zipfile.ZipFile(written).read("demo-1.0.dist-info/equip-wheel.json"))
    assert json.loads(raw[0]) == stored

    plain = harness.run_equip("show", demo, written, check=False)
    assert plain.returncode == 1
    assert plain.stdout.startswith(f"{written}\n")
    assert plain.stderr == (
        f"equip-wheel: error: {demo}: not instrumented by equip-wheel "
        "(it has no equip-wheel.json in its .dist-info)\n"
    )


def test_verify_json(demo: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    proc = harness.run_equip(
        "verify", "--json", demo, broken, "missing-1.0-py3-none-any.whl", cwd=tmp_path, check=False
    )
    assert proc.returncode == 1
    results = json.loads(proc.stdout)
    assert [(r["wheel"], r["ok"]) for r in results] == [
        (str(demo), True),
        (str(broken), False),
        ("missing-1.0-py3-none-any.whl", False),
    ]
    assert results[0]["members"] == 6 and results[0]["problems"] == []
    assert "not a valid zip archive" in results[1]["problems"][0]
    assert results[2]["problems"] == ["missing-1.0-py3-none-any.whl: no such file or directory"]
    # The problems are also the error lines on stderr.
    assert proc.stderr.count("equip-wheel: error: ") == 2
    human = harness.run_equip("verify", demo)
    assert human.stdout == f"{demo}: OK (6 members)\n"


def test_missing_input_says_no_such_file(tmp_path: Path) -> None:
    for command in (["instrument"], ["verify"], ["show"]):
        proc = harness.run_equip(*command, "gone-1.0-py3-none-any.whl", cwd=tmp_path, check=False)
        assert proc.returncode == 1, command
        assert "equip-wheel: error: " in proc.stderr
        assert "gone-1.0-py3-none-any.whl: no such file or directory" in proc.stderr, command
        assert proc.stdout == ""
    # Even a name that is not a wheel name: the missing file is the news.
    proc = harness.run_equip("instrument", "gone.whl", cwd=tmp_path, check=False)
    assert "gone.whl: no such file or directory" in proc.stderr


def test_the_same_input_twice_is_processed_once(demo: Path, tmp_path: Path) -> None:
    proc = harness.run_equip(
        "instrument", demo, f"./{demo.name}", str(demo), "-w", "out", cwd=tmp_path
    )
    assert ": 1 wheel(s), config" in proc.stderr
    assert proc.stderr.count("[1/1] ") == 1
    assert proc.stdout == f"out/{DEMO.name}\n"


def test_shell_completions(tmp_path: Path) -> None:
    bash = harness.run_equip("completions", "bash").stdout
    script = tmp_path / "equip-wheel.bash"
    script.write_text(bash)
    subprocess.run(["bash", "-n", script], check=True)
    # Loaded into bash, it completes the subcommands and instrument's options.
    probe = (
        f"source {script}; COMP_WORDS=(equip-wheel ''); COMP_CWORD=1; "
        "_equip__wheel equip-wheel '' equip-wheel; echo ${COMPREPLY[@]}"
    )
    words = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert {"instrument", "verify", "show", "presets", "completions"} <= set(words.stdout.split())
    for shell in ("zsh", "fish", "powershell", "elvish"):
        assert "--wheel-dir" in harness.run_equip("completions", shell).stdout, shell
    bad = harness.run_equip("completions", "tcsh", check=False)
    assert bad.returncode == 2 and "invalid value" in bad.stderr


@pytest.mark.parametrize(
    ("extra", "coloured"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, False)],
)
def test_colour_only_on_a_terminal(extra: dict[str, str], coloured: bool) -> None:
    args = ["verify", "gone-1.0-py3-none-any.whl"]
    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CLICOLOR_FORCE")}
    proc = subprocess.run(
        [harness.equip_wheel_exe(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**base, "TERM": "xterm-256color", **extra},
    )
    os.close(follower)
    printed = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other side is closed and drained
            break
        if not chunk:
            break
        printed += chunk
    os.close(leader)
    text = printed.decode()
    assert proc.returncode == 1
    assert "gone-1.0-py3-none-any.whl: no such file or directory" in text
    assert (ESC in text) == coloured, repr(text)
    # Through a pipe there is never colour, unless forced.
    piped = harness.run_equip(*args, env={"NO_COLOR": "", "CLICOLOR_FORCE": ""}, check=False)
    assert ESC not in piped.stderr
