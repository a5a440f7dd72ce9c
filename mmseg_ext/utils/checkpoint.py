"""Let ``torch.load(weights_only=True)`` read MMEngine's checkpoints.

Since PyTorch 2.6 ``torch.load`` only unpickles tensors, containers and
allowlisted classes. MMEngine's checkpoints also hold the message hub's
:class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays inside) and
numpy scalars in their meta data, so resuming a run, ``load_from``, testing a
checkpoint and the inferencer fail out of the box. Registering exactly those
types keeps the restricted unpickler (no arbitrary code can run on load)
while MMEngine's own files load again.

A history buffer also pickles its statistics methods. Pickle protocol 2
(``torch.save``'s default) writes ``HistoryBuffer.min`` as
``getattr(HistoryBuffer, 'min')``; allowing ``builtins.getattr`` itself would
open the sandbox, so that name maps to :func:`_history_buffer_getattr`,
which resolves only those methods.
"""
import pickle
from typing import Any, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _numpy_globals() -> List[object]:
    """Globals numpy pickles arrays, dtypes and scalars with."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    dtype_classes = [
        type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV'
    ]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
            ] + dtype_classes


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` limited to a history buffer's statistics methods."""
    methods = {'min', 'max', 'current', 'mean'}
    methods.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in methods:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights-only loading refuses getattr({obj!r}, {name!r})')


def safe_globals() -> List[object]:
    """Types MMEngine writes into checkpoints besides tensors."""
    return [HistoryBuffer,
            (_history_buffer_getattr, 'builtins.getattr')] + _numpy_globals()


def register_safe_globals() -> None:
    """Allow :func:`safe_globals` in weights-only loading (idempotent)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch >= 2.4
        add(safe_globals())
