"""Tell a complete, safe checkpoint from a damaged or dangerous one."""
import os.path as osp
import pickle
import re

import torch

from .errors import CheckpointError

_GLOBAL = re.compile(r'GLOBAL (\S+)')


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds objects that weights-only loading refuses."""


def verify_checkpoint(path: str) -> None:
    """Check that ``path`` is a complete checkpoint safe to load.

    The file is opened the way MMEngine loads it (``torch.load`` with
    ``weights_only=True``, the default since PyTorch 2.6), memory-mapped so
    that tensors are not read. Nothing in the file is executed: the
    restricted unpickler stops at the first object that is not a tensor,
    container, number or one of the types :mod:`mmseg_ext.utils.checkpoint`
    allows.

    Args:
        path (str): Local checkpoint file.

    Raises:
        CheckpointError: The file is missing, truncated or not a checkpoint.
        UnsafeCheckpointError: The file refers to other code, e.g. a pickled
            ``__reduce__`` payload; it was refused without running it.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} does not exist')
    try:
        try:
            torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        except RuntimeError as e:
            if 'mmap' not in str(e):
                raise
            # the legacy (non-zip) format cannot be memory-mapped
            torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        found = _GLOBAL.search(str(e))
        what = found.group(1) if found else str(e).splitlines()[0]
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {path}: it refers to {what}, which '
            'weights-only loading does not allow (MMEngine checkpoints hold '
            'only tensors, numbers and log buffers); loading it could run '
            'code') from None
    except Exception as e:
        reason = str(e).strip().split('\n')[0].split('. ')[0]
        reason = reason or type(e).__name__
        raise CheckpointError(
            f'checkpoint {path} is truncated or damaged ({reason})') from None
