"""The function under test, ``work(a, b)``, in every variant the runtime benchmark compares.

Imported by ``runtime_loop.py`` inside each interpreter. Every variant calls the same no-op
hooks of ``equip_bench_hooks``; the equip-wheel variants come from the instrumented wheels
(modules ``equip_bench_warn`` and ``equip_bench_raise``, installed next to this file's
directory on ``sys.path``), the plain one from the uninstrumented wheel.
"""

import functools
import sys

from equip_bench_hooks import enter, error, exit


def hand_written(a, b):
    """What a user writes by hand: enter's value threads to exit/error, errors re-raise."""
    e = enter("hand_written")
    try:
        r = a + b
    except BaseException as x:
        error(e, x)
        raise
    exit(e, r)
    return r


def traced(fn):
    """The usual functools.wraps decorator calling the same hooks."""
    qualname = fn.__qualname__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        e = enter(qualname)
        try:
            r = fn(*args, **kwargs)
        except BaseException as x:
            error(e, x)
            raise
        exit(e, r)
        return r

    return wrapper


@traced
def decorated(a, b):
    return a + b


def wrapt_variant():
    """``work`` wrapped with a wrapt decorator, or None when wrapt is not installed."""
    try:
        import wrapt
    except ImportError:
        return None

    @wrapt.decorator
    def hooks(wrapped, instance, args, kwargs):
        e = enter(wrapped.__qualname__)
        try:
            r = wrapped(*args, **kwargs)
        except BaseException as x:
            error(e, x)
            raise
        exit(e, r)
        return r

    @hooks
    def wrapped_work(a, b):
        return a + b

    return wrapped_work


def profiled(a, b):
    return a + b


def profiler(frame, event, arg):
    """sys.setprofile callback: enter on call, exit on return (enter's value is not kept)."""
    if event == "call":
        enter(frame.f_code.co_name)
    elif event == "return":
        exit(None, arg)


def monitored(a, b):
    return a + b


def start_monitoring():
    """PY_START/PY_RETURN on ``monitored``'s code only (3.12+); returns whether it is on."""
    mon = getattr(sys, "monitoring", None)
    if mon is None:
        return False
    tool = mon.PROFILER_ID
    mon.use_tool_id(tool, "equip-wheel benchmark")

    def on_start(code, offset):
        enter(code.co_qualname)

    def on_return(code, offset, retval):
        exit(None, retval)

    mon.register_callback(tool, mon.events.PY_START, on_start)
    mon.register_callback(tool, mon.events.PY_RETURN, on_return)
    mon.set_local_events(tool, monitored.__code__, mon.events.PY_START | mon.events.PY_RETURN)
    return True
