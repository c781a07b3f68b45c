"""The error every part of the emulated network raises when it cannot be built or used."""


class HarnessError(RuntimeError):
    """The emulated network could not be built or used; the message says what failed."""
