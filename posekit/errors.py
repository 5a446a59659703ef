"""Errors that the command line reports as one line naming the file and the problem (exit status 2)."""


class PosekitError(Exception):
    """Base of the errors a user can fix: bad input, a wrong option, an unwritable path."""


class InputError(PosekitError, ValueError):
    """An input file that cannot be read as the format it claims to be."""
