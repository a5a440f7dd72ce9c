import errno
import logging
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional

from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..errors import WorkDirError
from ..fileio import AtomicLocalBackend


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` that saves whole files only.

    The package's schedule bases use it with
    ``backend_args=dict(backend='atomic_local')``
    (:class:`~mmseg_ext.engine.fileio.AtomicLocalBackend`): each checkpoint
    goes to a temporary file that is renamed when complete, so a process
    killed while saving leaves the previous checkpoint and no ``iter_N.pth``
    that ``--resume``, ``load_from`` or ``tools/test.py`` could pick up.
    Saving to a local folder through a backend that writes in place is
    warned about once. A save that fails (full disk, a folder made
    read-only) stops the run with one
    :class:`~mmseg_ext.engine.errors.WorkDirError` naming the file and the
    last complete checkpoint to resume from. Checking what a run loads, and
    repairing what ``--resume`` would read, is done before the runner is
    built (:func:`~mmseg_ext.engine.check_checkpoint`, called by the tools).

    Use it as ``default_hooks.checkpoint.type``; arguments are those of
    :class:`~mmengine.hooks.CheckpointHook`. For a remote ``out_dir`` set
    ``backend_args=None`` (or that store's arguments).
    """

    def before_train(self, runner) -> None:
        """Pick the file backend, and warn when it writes in place."""
        super().before_train(runner)
        backend = self.file_backend
        if (isinstance(backend, LocalBackend)
                and not isinstance(backend, AtomicLocalBackend)):
            print_log(
                f'{type(self).__name__}: checkpoints in {self.out_dir} are '
                'written in place, and a run killed while saving leaves a '
                "torn file; set backend_args=dict(backend='atomic_local')",
                logger='current',
                level=logging.WARNING)

    def after_train_iter(self, runner, *args, **kwargs) -> None:
        """Save every ``interval`` iterations."""
        with self._saving(runner):
            super().after_train_iter(runner, *args, **kwargs)

    def after_train_epoch(self, runner) -> None:
        """Save every ``interval`` epochs."""
        with self._saving(runner):
            super().after_train_epoch(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Save the best checkpoint."""
        with self._saving(runner):
            super().after_val_epoch(runner, metrics)

    def after_train(self, runner) -> None:
        """Save the last checkpoint."""
        with self._saving(runner):
            super().after_train(runner)

    @contextmanager
    def _saving(self, runner) -> Iterator[None]:
        """Turn a failed write into one line naming what is left."""
        last: Optional[str] = runner.message_hub.get_info('last_ckpt')
        try:
            yield
        except OSError as e:
            if isinstance(e, WorkDirError):
                raise
            where = e.filename or self.out_dir
            if e.errno == errno.ENOSPC:
                problem = f'no space left on device while saving {where}'
            else:
                problem = f'cannot save {where} ({e.strerror or e})'
            if last and osp.isfile(last):
                left = (f'the last complete checkpoint is {last}; make room '
                        'and continue with --resume')
            else:
                left = 'no checkpoint was saved yet'
            raise WorkDirError(f'{problem}: {left}') from None
