"""``python -m equip_wheel`` and the ``equip-wheel`` console script."""

import signal
import sys
from types import FrameType
from typing import Optional

from equip_wheel._native import main as _native_main

#: Exit status after SIGTERM (128 + 15), as the native command line uses.
_EXIT_TERMINATED = 143


def _terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise SystemExit(_EXIT_TERMINATED)


def main() -> None:
    """Run the equip-wheel command line on ``sys.argv`` and exit with its status.

    Ctrl-C exits 130 and SIGTERM 143 when they stop the run before every output was written
    (each output is then either absent or complete); a run that had already written every
    output exits with its own status."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = _native_main(["equip-wheel", *sys.argv[1:]], exit_after=True)
    except KeyboardInterrupt:
        code = 130
    except OSError as e:  # no worker thread could be started
        print(f"equip-wheel: error: {e}", file=sys.stderr)
        code = 1
    raise SystemExit(code)


if __name__ == "__main__":
    main()
