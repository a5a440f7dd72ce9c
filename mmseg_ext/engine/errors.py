"""Errors whose message names the file or option at fault.

The tools print these as one line instead of a traceback. An error raised in
a ``DataLoader`` worker comes back to the main process with the worker's
traceback folded into its message; these classes fold it out again, so the
message stays the one the check wrote.
"""
import re

_WORKER_TRACE = re.compile(r'^Caught \w+ (.+?)\.\nOriginal Traceback')


class MMSegExtError(Exception):
    """Base of the errors the tools report without a traceback.

    Args:
        message (str): What is wrong, naming the file or config option.
    """

    def __init__(self, message: str = '') -> None:
        super().__init__(self._unwrap(str(message)))

    @classmethod
    def _unwrap(cls, message: str) -> str:
        """Strip the traceback a ``DataLoader`` worker wraps around it."""
        where = _WORKER_TRACE.match(message)
        if where is None:
            return message
        prefix = f'{cls.__module__}.{cls.__qualname__}: '
        start = message.rfind(prefix)
        if start < 0:
            return message
        return f'{message[start + len(prefix):].strip()} ({where.group(1)})'


class DataError(MMSegExtError, ValueError):
    """A data file or data set cannot be used as it is."""


class ConfigError(MMSegExtError, ValueError):
    """Config options contradict each other or the data."""


class CheckpointError(MMSegExtError, RuntimeError):
    """A checkpoint is incomplete, damaged or unsafe to load."""


class InvalidLossError(MMSegExtError, FloatingPointError):
    """A training loss became NaN or infinite."""


class WorkDirError(MMSegExtError, OSError):
    """The work_dir cannot be created, written or used by this run."""
