import logging

from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from mmseg.registry import HOOKS
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
    warned about once. Checking what a run loads, and repairing what
    ``--resume`` would read, is done before the runner is built
    (:func:`~mmseg_ext.engine.check_checkpoint`, called by the tools).

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
