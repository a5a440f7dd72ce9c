import os
import os.path as osp
import re
from typing import List, Optional

from mmengine.dist import barrier, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmseg.registry import HOOKS
from ..checkpoint import UnsafeCheckpointError, verify_checkpoint
from ..errors import CheckpointError
from ..fileio import TMP_SUFFIX, AtomicLocalBackend


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` that never leaves a torn file.

    - Checkpoints go to a temporary file that is renamed when complete
      (:class:`~mmseg_ext.engine.fileio.AtomicLocalBackend`), so a process
      killed while saving leaves the previous checkpoint and no
      ``iter_N.pth`` that ``--resume``, ``load_from`` or ``tools/test.py``
      could pick up.
    - Before the run loads anything, the file it will load is checked
      (complete, and safe for weights-only loading). For ``--resume``
      (``resume=True`` without ``load_from``) a damaged newest checkpoint,
      e.g. one written by a plain ``CheckpointHook`` or cut short by the
      storage, is moved aside to ``NAME.damaged`` and the run resumes from
      the newest intact one, with a warning; leftovers of interrupted
      writes are removed. A checkpoint that refers to code is never skipped
      silently: the run stops with
      :class:`~mmseg_ext.engine.checkpoint.UnsafeCheckpointError`.

    Use it as ``default_hooks.checkpoint.type``. Arguments are those of
    :class:`~mmengine.hooks.CheckpointHook`; atomic writes apply when
    neither ``backend_args`` nor ``file_client_args`` is given and
    ``out_dir`` is local.

    Args:
        verify (bool): Check the checkpoint to load before the run starts.
            Defaults to True.
    """

    def __init__(self,
                 *args,
                 verify: bool = True,
                 out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 file_client_args: Optional[dict] = None,
                 **kwargs) -> None:
        if (backend_args is None and file_client_args is None
                and (out_dir is None or '://' not in str(out_dir))):
            backend_args = dict(backend='atomic_local')
        super().__init__(
            *args,
            out_dir=out_dir,
            backend_args=backend_args,
            file_client_args=file_client_args,
            **kwargs)
        self.verify = verify

    def before_run(self, runner) -> None:
        """Check the checkpoint that the run is about to load."""
        if not self.verify:
            return
        # the runner keeps these private; mmengine's EMAHook reads them too
        load_from = getattr(runner, '_load_from', None)
        if load_from is not None:
            if '://' not in str(load_from):
                verify_checkpoint(str(load_from))
        elif getattr(runner, '_resume', False):
            self._repair_resume_target(runner)
            barrier()

    def _repair_resume_target(self, runner) -> None:
        """Point ``last_checkpoint`` at the newest intact checkpoint."""
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return
        target = find_latest_checkpoint(runner.work_dir) or ''
        folder = osp.dirname(target) if target else self._ckpt_dir(runner)
        if '://' in folder:
            return
        self._remove_partial_files(runner, folder)
        try:
            if not target:
                raise CheckpointError(f'{pointer} is empty')
            verify_checkpoint(target)
            return
        except UnsafeCheckpointError:
            raise
        except CheckpointError as e:
            problem = str(e)
        for candidate in self._checkpoints(folder):
            if osp.abspath(candidate) == osp.abspath(target):
                continue
            try:
                verify_checkpoint(candidate)
            except UnsafeCheckpointError:
                raise
            except CheckpointError:
                continue
            runner.logger.warning(
                f'{problem}: resuming from {candidate} instead')
            if is_main_process():
                if osp.isfile(target):
                    os.replace(target, target + '.damaged')
                    runner.logger.warning(
                        f'moved the damaged file to {target}.damaged')
                AtomicLocalBackend().put_text(candidate, pointer)
            return
        raise CheckpointError(
            f'cannot resume: {problem}, and {folder} holds no other intact '
            f'checkpoint; remove {pointer} to start afresh')

    def _ckpt_dir(self, runner) -> str:
        """Where this hook saves, as ``before_train`` will compute it."""
        if self.out_dir is None:
            return runner.work_dir
        return osp.join(self.out_dir,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _checkpoints(self, folder: str) -> List[str]:
        """Checkpoints named by ``filename_tmpl`` in ``folder``, newest
        first."""
        pattern = re.compile(
            '^' +
            re.escape(self.filename_tmpl).replace(re.escape('{}'), r'(\d+)') +
            '$')
        found = []
        for name in os.listdir(folder) if osp.isdir(folder) else []:
            match = pattern.match(name)
            if match:
                found.append((int(match.group(1)), osp.join(folder, name)))
        return [path for _, path in sorted(found, reverse=True)]

    @staticmethod
    def _remove_partial_files(runner, folder: str) -> None:
        """Delete what interrupted atomic writes left behind."""
        if not is_main_process() or not osp.isdir(folder):
            return
        for name in os.listdir(folder):
            if name.startswith('.') and name.endswith(TMP_SUFFIX):
                os.remove(osp.join(folder, name))
                runner.logger.warning(
                    f'removed {name}, left by an interrupted checkpoint write')
