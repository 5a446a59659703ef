"""Errors that the command line reports as one line naming the file and the problem (exit status 2)."""


class PosekitError(Exception):
    """Base of the errors a user can fix: bad input, a wrong option, an unwritable path."""

    def __init__(self, message: str = ""):
        super().__init__(_original_message(type(self), message))


class InputError(PosekitError, ValueError):
    """An input file that cannot be read as the format it claims to be."""


def _original_message(error_type: type, message: str) -> str:
    """The one-line message of an error re-raised by a torch DataLoader worker.

    torch re-creates a worker's exception in the main process as ``InputError("Caught InputError in DataLoader
    worker process 0.\\nOriginal Traceback ...\\nposekit.errors.InputError: MESSAGE")``; keep MESSAGE so the command
    still ends with one line."""
    if not (message.startswith(f"Caught {error_type.__name__} ") and "\nOriginal Traceback" in message):
        return message
    prefix = f"{error_type.__module__}.{error_type.__qualname__}: "
    last = message.rstrip().splitlines()[-1]
    return last[len(prefix) :] if last.startswith(prefix) else message
