"""Greetings, in several shapes of function."""


def greet(name, punctuation="!"):
    """Return a greeting for ``name``."""
    return f"Hello, {name}{punctuation}"


def shout(name):
    return greet(name).upper()


def countdown(n):
    """Yield n, n-1, ..., 1."""
    while n > 0:
        yield n
        n -= 1


class Greeter:
    """Greets a list of people."""

    def __init__(self, names):
        self.names = list(names)

    def greet_all(self):
        return [greet(n) for n in self.names]

    @property
    def count(self):
        return len(self.names)
