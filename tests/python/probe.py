"""The full-hooks probe: a config whose enter/exit/error/module hooks call an external module,
``equip_probe``, installed next to the instrumented package. The probe counts events per
(kind, module, qualname) and checks that every exit and error received the enter value of
its own call, exactly once. Each process writes its results at exit to
``$EQUIP_PROBE_OUT`` (``{pid}`` replaced by the process id).

Used by the upstream-suite tests of `.py` and `.pyc` instrumentation; the
differential test compares the counts of both.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

#: The hooks. on-hook-error = "raise": a probe failure must never go unnoticed.
CONFIG = """
[hooks]
imports = ["import equip_probe"]
module-enter = "equip_probe.module_enter({module})"
module-exit = "equip_probe.module_exit({module})"
function-enter = "equip_probe.enter({module}, {qualname})"
function-exit = "equip_probe.exit({enter_value}, {module}, {qualname})"
function-error = "equip_probe.error({enter_value}, {module}, {qualname}, {exception})"
on-hook-error = "raise"
"""

#: The ``equip_probe`` module (kept to Python 3.8 syntax).
SOURCE = '''
"""Records what equip-wheel hooks see (test probe)."""
import atexit
import itertools
import json
import os

# No locks: a hook can run re-entrantly on the same thread (a generator finalized by the
# garbage collector while a hook runs), so every update is a single C-level operation that
# is atomic under the GIL: next() on an itertools.count, dict.setdefault/pop.
_counters = {}  # "kind module:qualname" -> itertools.count(1); next() gives n + 1 after n events
problems = []
_open = {}
_ids = itertools.count(1)


def _count(kind, module, qualname):
    key = kind + " " + module + ":" + qualname
    counter = _counters.get(key)
    if counter is None:
        counter = _counters.setdefault(key, itertools.count(1))
    next(counter)


def module_enter(module):
    _count("module-enter", module, "")


def module_exit(module):
    _count("module-exit", module, "")


def enter(module, qualname):
    _count("enter", module, qualname)
    token = next(_ids)
    _open[token] = (module, qualname)
    return token


def _close(kind, token, module, qualname):
    _count(kind, module, qualname)
    owner = _open.pop(token, None)
    if owner != (module, qualname) and len(problems) < 50:
        problems.append("%s of %s:%s got enter value %r (owner %r)" % (kind, module, qualname, token, owner))


def exit(token, module, qualname):
    _close("exit", token, module, qualname)


def error(token, module, qualname, exception):
    _close("error", token, module, qualname)


@atexit.register
def _write():
    path = os.environ.get("EQUIP_PROBE_OUT")
    if not path:
        return
    try:
        with open(path.replace("{pid}", str(os.getpid())), "w") as f:
            counts = {key: next(counter) - 1 for key, counter in _counters.items()}
            json.dump({"counts": counts, "problems": problems, "open": len(_open)}, f)
    except Exception:
        pass
'''


def results(directory: Path) -> tuple[Counter, list[str]]:
    """Merged counts and problems of every ``probe-*.json`` written in ``directory``."""
    counts: Counter = Counter()
    problems: list[str] = []
    for path in sorted(directory.glob("probe-*.json")):
        data = json.loads(path.read_text())
        counts.update(data["counts"])
        problems.extend(data["problems"])
    return counts, problems


def config_file(directory: Path) -> Path:
    """Writes :data:`CONFIG` to ``directory/probe.toml`` and returns that path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "probe.toml"
    path.write_text(CONFIG)
    return path


def module_dir(directory: Path) -> Path:
    """Writes the ``equip_probe`` module into ``directory`` (to put on ``PYTHONPATH``)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "equip_probe.py").write_text(SOURCE)
    return directory


def per_function(counts: Counter) -> dict[str, dict[str, int]]:
    """``{"module:qualname": {"enter": n, "exit": n, "error": n}}`` of the function events."""
    out: dict[str, dict[str, int]] = {}
    for key, n in counts.items():
        kind, where = key.split(" ", 1)
        if kind in ("enter", "exit", "error"):
            out.setdefault(where, {"enter": 0, "exit": 0, "error": 0})[kind] += n
    return out


def totals(counts: Counter) -> Counter:
    """Event counts per kind (enter, exit, error, module-enter, module-exit)."""
    out: Counter = Counter()
    for key, n in counts.items():
        out[key.split(" ", 1)[0]] += n
    return out
