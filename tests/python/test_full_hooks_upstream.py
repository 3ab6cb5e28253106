"""The full-hooks probe config on the six real wheels.

Each wheel is instrumented with enter/exit/error/module hooks calling an external module,
``equip_probe`` (see probe.py), installed next to the package. The package's upstream test
suite runs on CPython 3.8, 3.11 and 3.13 against the plain wheel and the instrumented one:
every test must have the same outcome, the probe must have seen enter, exit and error
events, and every exit and error must have received the enter value of its own call.
"""

from __future__ import annotations

from pathlib import Path

import harness
import probe
import pytest
import upstream

PYTHONS = ["3.8", "3.11", "3.13"]
NAMES = [name for name, _ in harness.REAL_WHEELS]
# Fewer Hypothesis examples for attrs, the same on both sides of each comparison.
EXAMPLES = 20


@pytest.fixture(scope="session")
def full_hooks_wheels(real_wheels, tmp_path_factory) -> dict[str, Path]:
    """The six wheels instrumented with the probe config: name -> wheel."""
    root = tmp_path_factory.mktemp("full-hooks")
    (root / "probe.toml").write_text(probe.CONFIG)
    harness.run_equip(
        "instrument", *real_wheels.values(), "-c", root / "probe.toml", "-o", root / "out", "-q"
    )
    return {name: root / "out" / wheel.name for name, wheel in real_wheels.items()}


@pytest.fixture(scope="session")
def probe_wheel(tmp_path_factory) -> Path:
    return upstream.build_module_wheel(
        "equip_probe", probe.SOURCE, tmp_path_factory.mktemp("probe")
    )


@pytest.mark.upstream
@pytest.mark.slow
@pytest.mark.parametrize("minor", PYTHONS)
@pytest.mark.parametrize("name", NAMES)
def test_upstream_suite_with_full_hooks(
    name, minor, full_hooks_wheels, probe_wheel, tmp_path, tmp_path_factory
):
    python = harness.require_python(minor)
    plain = upstream.plain_result(name, python, tmp_path_factory, hypothesis_max_examples=EXAMPLES)

    suite = upstream.prepare_suite(name, tmp_path)
    venv = upstream.make_test_venv(
        name, python, [full_hooks_wheels[name]], tmp_path / "venv", extra=[probe_wheel]
    )
    out = tmp_path / "probe"
    out.mkdir()
    instrumented = upstream.run_suite(
        name,
        venv,
        suite,
        label="full-hooks",
        hypothesis_max_examples=EXAMPLES,
        env={"EQUIP_PROBE_OUT": str(out / "probe-{pid}.json")},
    )
    applied = upstream.assert_same_outcomes(
        plain, instrumented, upstream.UPSTREAM[name].known_differences
    )

    counts, problems = probe.results(out)
    assert not problems, "\n".join(problems[:20])
    seen = probe.totals(counts)
    modules = upstream.UPSTREAM[name].modules
    assert any(key.split(" ", 1)[1].split(".")[0].split(":")[0] in modules for key in counts), (
        counts
    )
    assert seen["enter"] > 0 and seen["exit"] > 0 and seen["error"] > 0, seen
    assert seen["module-enter"] > 0, seen
    if applied:
        pytest.xfail("; ".join(applied))
