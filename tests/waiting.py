"""Waiting for a condition with a deadline, for tests: never a sleep of a guessed length.

The tests directory is on sys.path (pytest puts the directory of the root conftest.py there),
so every tier imports this as `from waiting import wait_until`.
"""
import time


def wait_until(condition, timeout: float, interval: float = 0.01) -> bool:
    """Call `condition` until it returns true (then True) or `timeout` seconds have passed
    (then False); the caller asserts, with a message that says what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True
