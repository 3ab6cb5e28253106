"""demo: a tiny package to try equip-wheel on (see the README's first command)."""

from demo.greet import Greeter, countdown, greet, shout

__all__ = ["Greeter", "countdown", "greet", "shout"]
__version__ = "1.0"
