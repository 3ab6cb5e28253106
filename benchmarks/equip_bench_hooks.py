"""No-op hook functions shared by every variant of the benchmarks (instrumented, hand-written,
decorators, sys.monitoring, sys.setprofile), so each variant calls the very same functions."""


def enter(qualname):
    return None


def exit(enter_value, return_value):  # noqa: A001 - the hook's name in the configs
    pass


def error(enter_value, exception):
    pass
