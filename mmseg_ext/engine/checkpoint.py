"""Checkpoint safety: what weights-only loading may read, and whether a file
is complete and safe to load.

Since PyTorch 2.6 ``torch.load`` only unpickles tensors, containers and
allowlisted classes (``weights_only=True``). MMEngine's checkpoints also hold
the message hub's :class:`~mmengine.logging.HistoryBuffer` objects (numpy
arrays inside) and numpy scalars in their meta data, so resuming a run,
``load_from``, testing a checkpoint and the inferencer fail out of the box.
:func:`register_safe_globals` (called by ``import mmseg_ext``) allowlists
exactly those types: the restricted unpickler stays (no arbitrary code can run
on load) while MMEngine's own files load again. :func:`verify_checkpoint`
opens a file the same way to tell a complete, safe checkpoint from a damaged
or dangerous one. :func:`register_checkpoint_loader` (also called by the
package) gives every local checkpoint that MMEngine loads (``load_from``,
``--resume``, ``init_model``, ``MMSegInferencer``) the same one-line errors,
through MMEngine's checkpoint loader registry. :func:`check_weights_fit`
refuses a checkpoint whose weights do not fit the model; the runner calls it
through :class:`~mmseg_ext.engine.CheckLoadedWeightsHook`, and a model built
with :class:`WeightsFitMixin` calls it itself when MMEngine loads all of its
weights outside the runner (``init_model``, ``MMSegInferencer``).

A history buffer also pickles its statistics methods. Pickle protocol 2
(``torch.save``'s default) writes ``HistoryBuffer.min`` as
``getattr(HistoryBuffer, 'min')``; allowing ``builtins.getattr`` itself would
open the sandbox, so that name maps to :func:`_history_buffer_getattr`,
which resolves only those methods.
"""
import logging
import os.path as osp
import pickle
import re
import weakref
from typing import Any, List, Mapping, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.runner.checkpoint import \
    load_from_local as _mmengine_load_from_local

from .errors import CheckpointError

_GLOBAL = re.compile(r'GLOBAL (\S+)')
#: How a config asks the runner to load only the weights that fit.
RUNNER_OPT_OUT = 'load_partial=True (--cfg-options load_partial=True)'
#: The file :func:`load_from_local` read last, and one of its weights.
_last_read = {'path': None, 'weight': lambda: None}


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint holds objects that weights-only loading refuses.

    Also a :class:`pickle.UnpicklingError`, which PyTorch raises for such a
    file without this package.
    """


def _numpy_globals() -> List[object]:
    """Globals numpy pickles arrays, dtypes and scalars with.

    numpy 2 pickles an array as ``numpy._core.multiarray._reconstruct`` and
    a scalar as ``numpy._core.multiarray.scalar``; numpy 1 wrote the same
    two functions as ``numpy.core.multiarray.*``, so every checkpoint saved
    before numpy 2 names them that way. Both spellings map to the installed
    functions, and nothing else under those modules is allowed.
    """
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    dtype_classes = [type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGSUV']
    spellings = [(getattr(multiarray, name), f'{module}.multiarray.{name}')
                 for module in ('numpy.core', 'numpy._core')
                 for name in ('_reconstruct', 'scalar')]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
            ] + dtype_classes + spellings


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


def register_checkpoint_loader() -> None:
    """Load local checkpoints through :func:`load_from_local` (idempotent).

    Registered with ``CheckpointLoader.register_scheme``, MMEngine's own
    extension point, for local paths (the empty prefix); URLs and
    ``open-mmlab://`` names keep MMEngine's loaders.
    """
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)


def load_from_local(filename: str, map_location=None) -> Any:
    """MMEngine's local checkpoint loader, with one-line errors.

    The file is loaded by :func:`mmengine.runner.checkpoint.load_from_local`
    (``torch.load``, weights-only); a missing, damaged or unsafe file raises
    the error :func:`verify_checkpoint` raises, without PyTorch's traceback
    and its advice to turn the protection off.

    Args:
        filename (str): Local checkpoint file.
        map_location (str, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    try:
        checkpoint = _mmengine_load_from_local(filename, map_location)
    except FileNotFoundError:
        raise CheckpointError(
            f'checkpoint {filename} does not exist') from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError,
            OSError) as e:
        raise _load_error(filename, e) from None
    weight = _first_tensor(checkpoint)
    _last_read.update(
        path=filename,
        weight=weakref.ref(weight) if weight is not None else lambda: None)
    return checkpoint


def _first_tensor(checkpoint: Any) -> Optional[torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else {}
    state = state if isinstance(state, Mapping) else {}
    return next((v for v in state.values() if isinstance(v, torch.Tensor)),
                None)


def loaded_from(state_dict: Mapping) -> Optional[str]:
    """The local file :func:`load_from_local` read ``state_dict`` from.

    MMEngine hands a model a renamed copy of the checkpoint's weights, but
    the same tensors: the file is found by identity, so weights made in
    memory or read otherwise give None.
    """
    weight = _last_read['weight']()
    if weight is None:
        return None
    if any(v is weight for v in state_dict.values()):
        return _last_read['path']
    return None


def _load_error(path: str, error: Exception) -> CheckpointError:
    """The one-line error for a checkpoint ``torch.load`` refused."""
    if isinstance(error, CheckpointError):
        return error
    if isinstance(error, OSError) and error.strerror:
        return CheckpointError(
            f'cannot read checkpoint {path} ({error.strerror})')
    if isinstance(error, pickle.UnpicklingError):
        found = _GLOBAL.search(str(error))
        what = found.group(1) if found else str(error).splitlines()[0]
        return UnsafeCheckpointError(
            f'refused to load checkpoint {path}: it refers to {what}, which '
            'weights-only loading does not allow (MMEngine checkpoints hold '
            'only tensors, numbers and log buffers); loading it could run '
            'code')
    reason = str(error).strip().split('\n')[0].split('. ')[0]
    reason = reason or type(error).__name__
    return CheckpointError(
        f'checkpoint {path} is truncated or damaged ({reason})')


def verify_checkpoint(path: str) -> None:
    """Check that ``path`` is a complete checkpoint safe to load.

    The file is opened the way MMEngine loads it (``torch.load`` with
    ``weights_only=True``, the default since PyTorch 2.6), memory-mapped so
    that tensors are not read. Nothing in the file is executed: the
    restricted unpickler stops at the first object that is not a tensor,
    container, number or one of :func:`safe_globals`.

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
    except Exception as e:
        raise _load_error(path, e) from None


def check_weights_fit(model: nn.Module,
                      state_dict: Mapping,
                      source: str,
                      partial: bool = False,
                      opt_out: str = RUNNER_OPT_OUT) -> Optional[str]:
    """Refuse weights that would leave part of ``model`` uninitialised.

    MMEngine loads checkpoints with ``strict=False``: a weight the
    checkpoint lacks, or holds with another shape (e.g. a head for another
    number of classes), is logged among hundreds of lines and the model
    keeps its random values. Here each such weight is named with both
    shapes. Weights of the checkpoint that the model lacks (e.g. an
    auxiliary head) are not an error; BatchNorm's ``num_batches_tracked``
    counters are not required.

    Args:
        model (nn.Module): The model the weights are for (unwrapped).
        state_dict (Mapping): The checkpoint's weights; a leading
            ``module.`` is stripped, as MMEngine does.
        source (str): The checkpoint, for the message.
        partial (bool): Load what fits: return the message (for a warning)
            instead of raising. Defaults to False.
        opt_out (str): The setting that turns ``partial`` on, for the
            message. Defaults to the config's ``load_partial=True``
            (:data:`RUNNER_OPT_OUT`).

    Returns:
        str or None: What does not fit, when ``partial`` is True.

    Raises:
        CheckpointError: Weights are missing or have another shape.
    """
    given = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    mismatched, missing = [], []
    for key, own in model.state_dict().items():
        if key not in given:
            if not key.endswith('num_batches_tracked'):
                missing.append(key)
        elif tuple(getattr(given[key], 'shape', ())) != tuple(own.shape):
            mismatched.append(f'{key} {_shape(given[key])} in the checkpoint '
                              f'but {_shape(own)} in the model')
    if not mismatched and not missing:
        return None
    parts = []
    if mismatched:
        parts.append(f'{_count(mismatched, "weight")} of another shape: '
                     f'{_first(mismatched)}')
    if missing:
        parts.append(f'{_count(missing, "weight")} missing: '
                     f'{_first(missing)}')
    message = f'checkpoint {source} does not fit the model: ' + '; '.join(
        parts)
    if partial:
        return message
    raise CheckpointError(
        f'{message}; to load only the weights that fit, set {opt_out}')


class WeightsFitMixin:
    """Check a model's weights when MMEngine loads all of them.

    ``init_model`` and ``MMSegInferencer`` load a checkpoint outside the
    runner, with MMEngine's ``load_state_dict`` (``strict=False``), so
    :class:`~mmseg_ext.engine.CheckLoadedWeightsHook` never sees it. A model
    class that lists this mixin before its base (``class
    CRFEncoderDecoder(WeightsFitMixin, EncoderDecoder)``) refuses such
    weights itself with :func:`check_weights_fit`'s error whenever all of
    its weights are loaded (the model at the root of the load; as a
    submodule, e.g. of an EMA copy, it is not checked).

    Not checked twice: the runner's hook checks first and hands the model
    its next load (:meth:`skip_next_weights_check`). PyTorch's own
    ``model.load_state_dict(state_dict, strict)`` keeps PyTorch's meaning
    of ``strict``.

    Args:
        load_partial (bool): Load the weights that fit and log one warning
            naming those that do not, instead of raising (e.g.
            ``init_model(cfg, ckpt, cfg_options={'model.load_partial':
            True})``). The runner also honours it. Defaults to False.
    """

    def __init__(self, *args, load_partial: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.load_partial = load_partial

    def skip_next_weights_check(self) -> None:
        """Leave the next whole-model load unchecked (already checked)."""
        self._weights_checked = True

    def load_state_dict(self,
                        state_dict: Mapping,
                        strict: bool = True,
                        **kwargs):
        """PyTorch's loading; ``strict`` decides, as in PyTorch."""
        self.skip_next_weights_check()
        try:
            return super().load_state_dict(state_dict, strict, **kwargs)
        finally:
            self.__dict__.pop('_weights_checked', None)

    def _load_from_state_dict(self, state_dict: Mapping, prefix: str, *args,
                              **kwargs) -> None:
        if not prefix and not self.__dict__.pop('_weights_checked', False):
            source = loaded_from(state_dict) or '(state dict)'
            message = check_weights_fit(
                self,
                state_dict,
                source,
                partial=self.load_partial,
                opt_out='model.load_partial=True in the config')
            if message:
                print_log(
                    f'{message} (model.load_partial=True: loading the '
                    'weights that fit)',
                    logger='current',
                    level=logging.WARNING)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _shape(tensor: Any) -> str:
    return 'x'.join(str(n) for n in getattr(tensor, 'shape', ())) or 'scalar'


def _count(items: list, noun: str) -> str:
    return f'{len(items)} {noun}{"s" if len(items) != 1 else ""}'


def _first(items: List[str], limit: int = 4) -> str:
    shown = ', '.join(items[:limit])
    rest = len(items) - limit
    return f'{shown} and {rest} more' if rest > 0 else shown
