from typing import Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..errors import InvalidLossError


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Stop training when a loss becomes NaN or infinite.

    Same name and ``interval`` as MMDetection's hook of that name; this one
    also names the iteration, the losses at fault, the rank and the last
    checkpoint to go back to. It runs before the checkpoint hook, so a run
    that diverged never saves a NaN checkpoint for ``--resume`` to pick up.
    In distributed training all ranks agree (one small ``all_reduce``), so
    every process stops at the same iteration. To turn the check off, leave
    the hook out of ``custom_hooks``.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
        keys (Sequence[str], optional): Names of the model's outputs to
            check, e.g. ``['decode.loss_ce']``. Defaults to None: every
            output whose name contains ``'loss'``.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 interval: int = 1,
                 keys: Optional[Sequence[str]] = None) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f'CheckInvalidLossHook: interval must be an int >= 1, got '
                f'{interval!r}')
        if isinstance(keys, str):
            keys = [keys]
        self.interval = interval
        self.keys = None if keys is None else list(keys)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Raise :class:`~mmseg_ext.engine.errors.InvalidLossError` on a
        non-finite loss."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        outputs = outputs or {}
        if self.keys is None:
            keys = [k for k in outputs if 'loss' in k]
        else:
            missing = [k for k in self.keys if k not in outputs]
            if missing:
                raise KeyError(
                    f'CheckInvalidLossHook: keys {missing} are not among '
                    f'the model outputs {sorted(outputs)}')
            keys = self.keys
        bad = {}
        for key in keys:
            value = torch.as_tensor(outputs[key]).detach().float()
            if not torch.isfinite(value).all():
                bad[key] = value
        flag = torch.tensor([float(bool(bad))])
        all_reduce(flag)  # a no-op unless distributed
        if not flag.item():
            return
        where = ', '.join(
            f'{k}={v.item() if v.numel() == 1 else v.tolist()}'
            for k, v in bad.items()) or 'finite here, not on another rank'
        last = runner.message_hub.get_info('last_ckpt')
        resume = (f'the last checkpoint is {last}'
                  if last else 'no checkpoint was saved yet')
        raise InvalidLossError(
            f'loss is not finite at iteration {runner.iter + 1} '
            f'(rank {get_rank()}: {where}); training stopped, {resume}. '
            'Lower the learning rate or clip gradients '
            '(optim_wrapper.clip_grad), then rerun with --resume')
