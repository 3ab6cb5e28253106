import functools as _equip_functools
import importlib.util as _equip_importlib_util
import inspect as _equip_inspect
import sys as _equip_sys
import threading as _equip_threading
import warnings as _equip_warnings
from _thread import get_ident as _equip_get_ident  # noqa: F401 (the generated wrappers use it)


class _EquipPatchLocal(_equip_threading.local):
    # busy: this thread is running a patch hook, in guarded mode (see _equip_patch_guard);
    # finding: the patch finder is looking for a spec (it does not look for itself).
    busy = False
    finding = False


_equip_patch_local = _EquipPatchLocal()
# Guarded mode, off until a patch hook re-enters patched callables (its hook calls one, which
# recursed until RecursionError): from then on every wrapper marks its thread busy while its
# hooks run, and calls made from inside hooks go straight to the original. Off, a wrapper pays
# one test; marking would cost every patched call more than the wrapper itself (a list cell,
# so that switching it does not invalidate the global caches of the wrappers' lookups).
_equip_patch_guard = [False]
_equip_patch_lock = _equip_threading.RLock()
# Targets whose module is not imported yet: module name -> list of pending entries.
_equip_patch_pending = {}
_equip_patch_warned = set()
_EQUIP_MISSING = object()  # getattr() default: the attribute does not exist


class _EquipPatchTarget:
    # What a wrapper knows of its target: the static placeholders and the signature that
    # {arguments} and {argN} bind to.
    __slots__ = (
        "module",
        "qualname",
        "function",
        "class_name",
        "file_name",
        "lineno",
        "text",
        "_signature",
        "_names",
    )

    def __init__(self, text, module, qualname, class_name, original):
        self.text = text
        self.module = module
        self.qualname = qualname
        self.function = qualname.rpartition(".")[2]
        self.class_name = class_name
        code = getattr(original, "__code__", None)
        self.file_name = getattr(code, "co_filename", None)
        self.lineno = getattr(code, "co_firstlineno", None)
        try:
            self._signature = _equip_inspect.signature(original)
        except (TypeError, ValueError):
            self._signature = None  # many C functions have none
        self._names = () if self._signature is None else tuple(self._signature.parameters)

    def arguments(self, args, kwargs):
        # {arguments}: parameter name -> value as the call binds them; without a signature
        # (or for a call the signature refuses), the positional and keyword arguments.
        if self._signature is not None:
            try:
                bound = self._signature.bind(*args, **kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                return dict(bound.arguments)
        return {"args": args, "kwargs": kwargs}

    def arg(self, args, kwargs, n):
        # {argN}: the Nth parameter's value, None when the call does not give it.
        if n < len(args):
            return args[n]
        if n < len(self._names):
            return kwargs.get(self._names[n])
        return None


def _equip_patch_warn(key, message, stacklevel=2):
    # One warning per target and problem; never an exception into the host program.
    if key in _equip_patch_warned:
        return
    _equip_warnings.warn("equip-wheel: " + message, RuntimeWarning, stacklevel=stacklevel + 1)
    # Only once it is out: too deep in a recursion, warn() itself fails, and a caller nearer
    # the top reports it.
    _equip_patch_warned.add(key)


def _equip_patch_reentered(exc):
    # A hook's RecursionError: its hooks re-entered patched callables. Guarded mode from now
    # on (set first: the warning may itself fail this deep).
    if not _equip_patch_guard[0] and isinstance(exc, RecursionError):
        _equip_patch_guard[0] = True
        return True
    return False


def _equip_patch_ignored(exc):
    # on-hook-error = "ignore" for a patch hook.
    _equip_patch_reentered(exc)


def _equip_patch_failed(hook, target, exc):
    # on-hook-error = "warn" for a patch hook: one warning per target and hook.
    if _equip_patch_reentered(exc) or (_equip_patch_guard[0] and isinstance(exc, RecursionError)):
        # Not warn(): too deep in the recursion it fails after marking its location in the
        # warning registry, which would hide every later attempt. A caller nearer the top
        # reports it when this one cannot.
        if ("guard",) not in _equip_patch_warned:
            _equip_warnings.warn_explicit(
                "equip-wheel: the %s hook around %s called patched callables and recursed; "
                "from now on, calls made by patch hooks are not hooked" % (hook, target.text),
                RuntimeWarning,
                "<equip-wheel patch>",
                0,
            )
            _equip_patch_warned.add(("guard",))
        return
    _equip_patch_warn(
        (hook, target.text),
        "the %s hook around %s raised %s: %s (further failures there are not reported)"
        % (hook, target.text, type(exc).__name__, exc),
        stacklevel=3,  # the code that called the patched callable
    )


def _equip_patch_shape(original):
    if _equip_inspect.iscoroutinefunction(original):
        return "coroutine"
    if _equip_inspect.isgeneratorfunction(original):
        return "generator"
    return "call"


def _equip_patch_missing(label, text):
    _equip_patch_warn((label, text), "patch target %s does not exist" % text, stacklevel=4)


def _equip_patch_find(entry):
    # Where the target lives: (owner, attribute name, module name, attribute path), the name
    # of a module to wait for, or None once reported missing.
    text, module_name, path, _, label = entry
    dotted = module_name is None  # may wait for a submodule
    parts = path.split(".")
    if module_name is not None:
        owner = _equip_sys.modules.get(module_name)
        if owner is None:
            return module_name
        names = parts
    else:
        # The longest dotted prefix that is an imported module holds the rest.
        for k in range(len(parts) - 1, 0, -1):
            owner = _equip_sys.modules.get(".".join(parts[:k]))
            if owner is not None:
                break
        else:
            return parts[0]
        module_name, names = ".".join(parts[:k]), parts[k:]
    for i, name in enumerate(names):
        if i == len(names) - 1 and isinstance(owner, type):
            return owner, name, module_name, ".".join(names)  # looked up in its MRO
        value = getattr(owner, name, _EQUIP_MISSING)
        if value is _EQUIP_MISSING:
            break
        if i == len(names) - 1:
            return owner, name, module_name, ".".join(names)
        owner = value
    # Missing. Under a package, in the dotted form, it may be a submodule not imported yet.
    if dotted and hasattr(owner, "__path__"):
        return ".".join([module_name] + names[: i + 1])
    _equip_patch_missing(label, text)
    return None


def _equip_patch_apply(entry):
    # Wraps one target if it can be found now. Returns the name of a module to wait for, or
    # None when done (patched, or reported as impossible).
    text, _, _, factory, label = entry
    found = _equip_patch_find(entry)
    if not isinstance(found, tuple):
        return found
    owner, name, module_name, qualname = found
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if name in vars(klass):
                raw = vars(klass)[name]
                break
        else:
            if hasattr(owner, name):  # provided by the metaclass: not patched here
                _equip_patch_warn(
                    (label, text),
                    "patch target %s is not defined by a class; not patched" % text,
                    3,
                )
            else:
                _equip_patch_missing(label, text)
            return None
        class_name = owner.__name__
    else:
        raw = getattr(owner, name)  # _equip_patch_find saw it
        class_name = None
    if isinstance(raw, (staticmethod, classmethod)):
        rewrap, original = type(raw), raw.__func__
    else:
        rewrap, original = None, raw
    if getattr(original, "__equip_patch__", None) == __name__:
        return None  # already wrapped by this hooks module (imported twice)
    if isinstance(original, type) or not callable(original):
        what = (
            "a class (patch its __init__ or __new__)"
            if isinstance(original, type)
            else "not callable"
        )
        _equip_patch_warn((label, text), "patch target %s is %s; not patched" % (text, what), 3)
        return None
    if _equip_inspect.isasyncgenfunction(original):
        _equip_patch_warn(
            (label, text), "patch target %s is an async generator function; not patched" % text, 3
        )
        return None
    target = _EquipPatchTarget(text, module_name, qualname, class_name, original)
    wrapper = factory(original, target, _equip_patch_shape(original))
    _equip_functools.update_wrapper(wrapper, original)
    wrapper.__equip_patch__ = __name__
    try:
        setattr(owner, name, wrapper if rewrap is None else rewrap(wrapper))
    except (AttributeError, TypeError) as exc:
        _equip_patch_warn((label, text), "patch target %s cannot be replaced: %s" % (text, exc), 3)
    return None


def _equip_patch_install(targets, factory, label):
    # Called once when this hooks module is imported: wraps what exists, and waits for the
    # import of the modules of the rest.
    with _equip_patch_lock:
        for module_name, path in targets:
            text = path if module_name is None else module_name + ":" + path
            _equip_patch_schedule((text, module_name, path, factory, label))


def _equip_patch_schedule(entry):
    try:
        waiting = _equip_patch_apply(entry)
    except Exception as exc:  # never into the host program
        _equip_patch_warn((entry[4], entry[0]), "cannot patch %s: %r" % (entry[0], exc))
        return
    if waiting is not None:
        _equip_patch_pending.setdefault(waiting, []).append(entry)
        if _equip_patch_finder not in _equip_sys.meta_path:
            _equip_sys.meta_path.insert(0, _equip_patch_finder)


def _equip_patch_imported(name):
    with _equip_patch_lock:
        for entry in _equip_patch_pending.pop(name, ()):
            _equip_patch_schedule(entry)


class _EquipPatchLoader:
    # Runs the real loader, then patches what waited for the module. Puts the real loader
    # back on the module and its spec first, so nothing sees this one afterwards.
    def __init__(self, loader):
        self._equip_loader = loader

    def __getattr__(self, name):
        return getattr(self._equip_loader, name)

    def create_module(self, spec):
        create = getattr(self._equip_loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._equip_loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._equip_loader
        self._equip_loader.exec_module(module)
        _equip_patch_imported(spec.name if spec is not None else module.__name__)


class _EquipPatchFinder:
    # First on sys.meta_path while targets wait: for a module they wait for, finds its spec
    # with the other finders and hooks the end of its execution.
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _equip_patch_pending or _equip_patch_local.finding:
            return None
        _equip_patch_local.finding = True
        try:
            spec = _equip_importlib_util.find_spec(fullname)
        except Exception:
            return None
        finally:
            _equip_patch_local.finding = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _EquipPatchLoader(spec.loader)
        return spec


_equip_patch_finder = _EquipPatchFinder()
