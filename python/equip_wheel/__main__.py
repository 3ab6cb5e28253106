"""``python -m equip_wheel`` and the ``equip-wheel`` console script."""

import sys

from equip_wheel._native import main as _native_main


def main() -> None:
    """Run the equip-wheel command line on ``sys.argv`` and exit with its status."""
    try:
        code = _native_main(["equip-wheel", *sys.argv[1:]])
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)


if __name__ == "__main__":
    main()
