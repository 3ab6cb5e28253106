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


def otel_variants():
    """``work`` instrumented with the ``otel`` preset: name -> function. "otel, no
    opentelemetry" is imported while ``import opentelemetry`` fails (a ``None`` entry in
    ``sys.modules``), so its hooks are the no-op ones of an environment without it; "otel,
    SDK + no-op exporter" (when the SDK is installed) records every span through a
    ``SimpleSpanProcessor`` into an exporter that drops them, and "start_as_current_span,
    same SDK" is the same span written by hand."""
    blocked = "opentelemetry" not in sys.modules
    if blocked:
        sys.modules["opentelemetry"] = None
    try:
        import equip_bench_otel
    finally:
        if blocked:
            del sys.modules["opentelemetry"]
    out = {"otel, no opentelemetry": equip_bench_otel.work}
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        return out

    class Dropped(SpanExporter):
        exported = 0

        def export(self, spans):
            self.exported += len(spans)
            return SpanExportResult.SUCCESS

    exporter = Dropped()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    import equip_bench_otelsdk

    equip_bench_otelsdk.work(1, 2)
    assert exporter.exported == 1, "the otel preset recorded no span"
    out["otel, SDK + no-op exporter"] = equip_bench_otelsdk.work

    tracer = trace.get_tracer("equip-wheel benchmark")
    attributes = {"code.function.name": "runtime_variants.work", "code.line.number": 1}

    def by_hand(a, b):
        """What a user writes by hand for the same span."""
        with tracer.start_as_current_span("runtime_variants.work", attributes=attributes):
            return a + b

    out["start_as_current_span, same SDK"] = by_hand
    return out
    return out
