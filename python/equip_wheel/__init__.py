"""equip-wheel: instrument built Python wheels.

The command line is ``equip-wheel`` (also ``python -m equip_wheel``); see README.md.
"""

from equip_wheel._native import __version__

__all__ = ["__version__"]
