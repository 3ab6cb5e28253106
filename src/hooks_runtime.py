from _thread import get_ident as _equip_get_ident
import sys as _equip_sys
import warnings as _equip_warnings

__all__ = []
_equip_warned = set()


def _equip_failed(hook, exc):
    # on-hook-error = "warn": one RuntimeWarning per site, pointing at the instrumented code.
    # Called by a generated hook function, itself called by the site: the site is the frame
    # two levels up, and its code object and instruction offset identify it.
    frame = _equip_sys._getframe(2)
    level = 3
    while frame.f_globals is globals():  # called through _equip_function_leave
        frame = frame.f_back
        level += 1
    code = frame.f_code
    site = (hook, code, frame.f_lasti)
    if site in _equip_warned:
        return
    _equip_warned.add(site)
    where = getattr(code, "co_qualname", code.co_name)
    _equip_warnings.warn(
        "equip-wheel: the %s hook at %s:%s (%s:%s) raised %s: %s "
        "(further failures at this site are not reported)"
        % (hook, code.co_filename, frame.f_lineno, frame.f_globals.get("__name__"), where,
           type(exc).__name__, exc),
        RuntimeWarning,
        stacklevel=level,
    )


def _equip_locals():
    # {locals} at a probe: the variables of the frame that called this.
    return _equip_sys._getframe(1).f_locals


def _equip_visible_locals(names):
    # {locals}: the frame's variables without equip-wheel's hidden ones.
    return {k: v for k, v in names.items() if not k.startswith(("_equip_", "__equip_"))}
