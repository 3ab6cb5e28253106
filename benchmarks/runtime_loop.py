"""Runs inside one interpreter: times ``work(1, 2)`` in every variant, prints JSON ns/call.

timeit-style: the same loop calls each variant ``n`` times per sample (n calibrated to about
``--sample-ms``), variants are interleaved round by round so drift hits all alike, and each
variant's best sample is kept (timeit's advice: higher values are noise, not the code).
"""

import argparse
import json
import sys
import time

import equip_bench_instr
import equip_bench_patchraise  # noqa: F401 (importing it patches equip_bench_ptarget_raise.work)
import equip_bench_patchwarn  # noqa: F401 (importing it patches equip_bench_ptarget_warn.work)
import equip_bench_plain
import equip_bench_ptarget_raise
import equip_bench_ptarget_warn
import equip_bench_raise
import equip_bench_warn
import runtime_variants as rv


def loop(f, n):
    """Nanoseconds per call of ``f(1, 2)`` over ``n`` calls (loop overhead included, as timeit)."""
    clock = time.perf_counter_ns
    it = range(n)
    t0 = clock()
    for _ in it:
        f(1, 2)
    return (clock() - t0) / n


def profiled_loop(f, n):
    sys.setprofile(rv.profiler)
    try:
        return loop(f, n)
    finally:
        sys.setprofile(None)


def variants():
    """name -> (function, loop runner)."""
    out = {
        "plain": (equip_bench_plain.work, loop),
        "hand-written": (rv.hand_written, loop),
        "equip-wheel raise": (equip_bench_raise.work, loop),
        "equip-wheel warn": (equip_bench_warn.work, loop),
        "functools.wraps": (rv.decorated, loop),
        "sys.setprofile": (rv.profiled, profiled_loop),
    }
    wrapped = rv.wrapt_variant()
    if wrapped is not None:
        out["wrapt"] = (wrapped, loop)
    if rv.start_monitoring():
        out["sys.monitoring"] = (rv.monitored, loop)
    for name, f in rv.otel_variants().items():
        out[name] = (f, loop)
    assert equip_bench_instr.traced(1, 2) == 3  # sets up the tracing of the selected function
    out["instructions, unselected"] = (equip_bench_instr.work, loop)
    out["instructions, selected"] = (equip_bench_instr.traced, loop)
    assert hasattr(equip_bench_ptarget_warn.work, "__wrapped__")
    assert hasattr(equip_bench_ptarget_raise.work, "__wrapped__")
    out["equip-wheel patch, raise"] = (equip_bench_ptarget_raise.work, loop)
    out["equip-wheel patch, warn"] = (equip_bench_ptarget_warn.work, loop)
    return out


def calibrate(f, runner, sample_ms):
    n = 1000
    while True:
        ns = runner(f, n)
        if ns * n >= sample_ms * 1e6 / 4:
            return max(1000, int(sample_ms * 1e6 / ns))
        n *= 4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--sample-ms", type=float, default=15.0)
    args = parser.parse_args()
    cases = variants()
    for f, _ in cases.values():  # every variant must compute the same thing
        assert f(1, 2) == 3
    sizes = {name: calibrate(f, runner, args.sample_ms) for name, (f, runner) in cases.items()}
    best = {name: float("inf") for name in cases}
    for _ in range(args.rounds):
        for name, (f, runner) in cases.items():
            best[name] = min(best[name], runner(f, sizes[name]))
    print(json.dumps({"python": sys.version.split()[0], "ns_per_call": best}))


if __name__ == "__main__":
    main()
