"""Type stubs for the ``equip_wheel._native`` extension module (built from src/python.rs)."""

__version__: str

def main(argv: list[str]) -> int:
    """Run the equip-wheel command line (``argv[0]`` is the program name); return the exit code."""
