"""Runtime overhead per call of instrumented functions.

A small generated wheel with ``work(a, b): return a + b`` is instrumented by equip-wheel with
no-op enter/exit/error hooks under ``on-hook-error = "raise"`` and under the default
(``warn``); ``runtime_loop.py`` then times it in a subprocess of every CPython 3.8–3.13
against the plain function, a hand-written version calling the same hooks, a functools.wraps
decorator, wrapt, sys.setprofile and (3.12+) sys.monitoring PY_START/PY_RETURN. Two more
columns give the cost of the ``otel`` preset: with ``opentelemetry`` not importable (every
CPython), and with the SDK recording every span into a no-op exporter (3.10+, which the pinned
release supports), next to the same span written by hand with ``start_as_current_span``.
The ``instructions`` columns time ``work`` in a module instrumented with the ``instructions``
preset selecting only its other function ``traced`` (called once first, so that its
tracing is set up): an unselected function must cost what the plain one does; and
``traced`` itself, the same code traced instruction by instruction.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile

from common import (
    BENCH,
    CONFIGS,
    PY_VERSIONS,
    WORK,
    Verdicts,
    equip_wheel_exe,
    find_python,
    harness,
    run,
    table,
)

WRAPT = "wrapt==1.17.2"  # the last 1.x: binary wheels for every CPython 3.8-3.13
#: The OpenTelemetry SDK of the ``otel`` rows (the tests' pins), on the CPythons it supports.
OTEL = ["opentelemetry-api==1.45.2", "opentelemetry-sdk==1.45.2"]
OTEL_PYTHONS = {"3.10", "3.11", "3.12", "3.13", "3.14", "3.15"}

SOURCE = '''"""The function the runtime benchmark calls."""


def work(a, b):
    return a + b
'''

#: The module of the ``instructions`` variant: ``traced`` is selected, ``work`` is not.
SOURCE_INSTRUCTIONS = (
    SOURCE
    + """

def traced(a, b):
    return b + a
"""
)

COLUMNS = [
    "plain",
    "hand-written",
    "equip-wheel raise",
    "equip-wheel warn",
    "functools.wraps",
    "wrapt",
    "sys.setprofile",
    "sys.monitoring",
    "otel, no opentelemetry",
    "otel, SDK + no-op exporter",
    "start_as_current_span, same SDK",
    "instructions, unselected",
    "instructions, selected",
    "equip-wheel patch, raise",
    "equip-wheel patch, warn",
]


def build_site() -> os.PathLike:
    """The wheels (plain, warn, raise, otel without and with the SDK) built, instrumented and
    installed (unzipped: pure-Python wheels) into one directory."""
    root = WORK / "runtime"
    shutil.rmtree(root, ignore_errors=True)
    (root / "in").mkdir(parents=True)
    site = root / "site"
    wheels = {}
    # The `[[patch]]` rows: a package whose hooks module patches `work` of another module,
    # installed plain (`ptarget_*`), one per failure policy.
    variants = ["plain", "warn", "raise", "otel", "otelsdk", "instr"]
    variants += ["patchwarn", "patchraise", "ptarget_warn", "ptarget_raise"]
    for variant in variants:
        dist = f"equip_bench_{variant}"
        source = SOURCE_INSTRUCTIONS if variant == "instr" else SOURCE
        wheels[variant] = harness.build_wheel(root / "in", dist, "1.0", {f"{dist}.py": source})
    for variant, config in [
        ("warn", ["--config", CONFIGS / "noop.toml"]),
        ("raise", ["--config", CONFIGS / "noop-raise.toml"]),
        ("otel", ["--preset", "otel"]),
        ("otelsdk", ["--preset", "otel"]),
        ("instr", ["--config", CONFIGS / "instructions.toml"]),
        ("patchwarn", ["--config", CONFIGS / "patch.toml"]),
        ("patchraise", ["--config", CONFIGS / "patch-raise.toml"]),
    ]:
        run([equip_wheel_exe(), "instrument", wheels[variant], *config, "-o", root / "out", "-q"])
        wheels[variant] = root / "out" / wheels[variant].name
    for wheel in wheels.values():
        with zipfile.ZipFile(wheel) as z:
            z.extractall(site)
    return site


def interpreter(minor: str) -> str | None:
    """A venv of CPython ``minor`` with wrapt and, where supported, the OpenTelemetry SDK
    (cached under .cache/bench/venvs)."""
    base = find_python(minor)
    if base is None:
        return None
    venv = WORK / "venvs" / f"py{minor}"
    python = venv / "bin" / "python"
    packages = [WRAPT] + (OTEL if minor in OTEL_PYTHONS else [])
    marker = venv / ("." + "+".join(packages))
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        harness.Venv.create(base, venv)  # uv venv --seed where ensurepip has no pip wheel
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, *packages])
        marker.touch()
    return str(python)


def measure(quick: bool) -> dict[str, dict[str, float]]:
    site = build_site()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(BENCH)]),
        "EQUIP_INSTRUCTIONS_FILE": str(WORK / "runtime" / "instructions-{pid}.txt"),
    }
    args = ["--rounds", "3", "--sample-ms", "20"] if quick else []
    results = {}
    for minor in PY_VERSIONS:
        python = interpreter(minor)
        if python is None:
            print(f"  CPython {minor}: skipped: {harness.pythons.lookup(minor)[1]}", flush=True)
            continue
        out = run([python, BENCH / "runtime_loop.py", *args], env=env).stdout
        for trace in (WORK / "runtime").glob("instructions-*.txt"):
            trace.unlink()  # tens of MB per interpreter
        results[minor] = json.loads(out)["ns_per_call"]
        print(f"  CPython {minor}: done", flush=True)
    return results


def main(verdicts: Verdicts, quick: bool = False) -> None:
    print("== Runtime overhead per call (ns/call, best of the rounds; loop included)", flush=True)
    results = measure(quick)
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    print(
        table(
            ["CPython"] + COLUMNS,
            [[minor] + [fmt(r.get(c)) for c in COLUMNS] for minor, r in results.items()],
        )
    )
    print("\nAdded overhead per call (ns, minus plain):")
    print(
        table(
            ["CPython"] + COLUMNS[1:],
            [
                [minor] + [fmt(r[c] - r["plain"]) if c in r else "-" for c in COLUMNS[1:]]
                for minor, r in results.items()
            ],
        )
    )
    print("\nThe instructions preset, an unselected function (its module traces another):")
    print(
        table(
            ["CPython", "plain", "instructions, unselected", "ratio", "instructions, selected"],
            [
                [
                    minor,
                    fmt(r["plain"]),
                    fmt(r["instructions, unselected"]),
                    f"{r['instructions, unselected'] / r['plain']:.2f}x",
                    fmt(r["instructions, selected"]),
                ]
                for minor, r in results.items()
            ],
        )
    )
    print("\nRatios:")
    rows = []
    for minor, r in results.items():
        plain, hand = r["plain"], r["hand-written"]
        mon = r.get("sys.monitoring")
        added = (r["equip-wheel warn"] - plain) / (mon - plain) if mon else None
        rows.append(
            [
                minor,
                f"{r['equip-wheel raise'] / hand:.2f}x",
                f"{r['equip-wheel warn'] / hand:.2f}x",
                "-" if added is None else f"{added:.2f}x",
            ]
        )
    print(
        table(
            [
                "CPython",
                "raise / hand-written",
                "warn / hand-written",
                "added warn / added sys.monitoring",
            ],
            rows,
        )
    )
    print("\n[[patch]] around another module's function: added ns per call against the peers")
    added = lambda r, c: r[c] - r["plain"]  # noqa: E731
    print(
        table(
            [
                "CPython",
                "functools.wraps",
                "wrapt",
                "patch, raise",
                "patch, warn",
                "raise / functools.wraps",
                "warn / functools.wraps",
            ],
            [
                [
                    minor,
                    fmt(added(r, "functools.wraps")),
                    fmt(added(r, "wrapt")) if "wrapt" in r else "-",
                    fmt(added(r, "equip-wheel patch, raise")),
                    fmt(added(r, "equip-wheel patch, warn")),
                    f"{added(r, 'equip-wheel patch, raise') / added(r, 'functools.wraps'):.2f}x",
                    f"{added(r, 'equip-wheel patch, warn') / added(r, 'functools.wraps'):.2f}x",
                ]
                for minor, r in results.items()
            ],
        )
    )
    for label, limit, key in [
        (
            # The peer lets a hook's exception through, as `on-hook-error = "raise"` does; the
            # default `warn` also catches hook failures (its ratio is in the table above).
            "patched call (raise, as the peer), added <= 1.2x a functools.wraps wrapper's "
            "(every CPython)",
            1.2,
            lambda r: (
                (r["equip-wheel patch, raise"] - r["plain"]) / (r["functools.wraps"] - r["plain"])
            ),
        ),
        (
            "per call, raise policy <= 1.1x hand-written (every CPython)",
            1.1,
            lambda r: r["equip-wheel raise"] / r["hand-written"],
        ),
        (
            "per call, default policy <= 1.5x hand-written (every CPython)",
            1.5,
            lambda r: r["equip-wheel warn"] / r["hand-written"],
        ),
        (
            "added per call, default policy <= 0.5x sys.monitoring's (3.12+)",
            0.5,
            lambda r: (
                (r["equip-wheel warn"] - r["plain"]) / (r["sys.monitoring"] - r["plain"])
                if "sys.monitoring" in r
                else None
            ),
        ),
    ]:
        measured = [(key(r), minor) for minor, r in results.items() if key(r) is not None]
        if not measured:
            verdicts.check(label, False, "not measured (interpreter missing)")
        else:
            value, minor = max(measured)
            verdicts.check(label, value <= limit, f"worst {value:.2f}x (CPython {minor})")
