from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ..errors import ConfigError, DataError


@HOOKS.register_module()
class CheckSegDataHook(Hook):
    """Refuse data that would give a quietly wrong loss or metric.

    - Before training, validation and testing: the number of classes of
      every decode and auxiliary head equals the number of classes of the
      data set (otherwise the metric compares different label spaces).
    - Before every iteration: each ground-truth map holds one channel and
      only ids below ``num_classes`` or the head's ``ignore_index``. Such
      ids make the loss fail with an index error (or a device-side assert
      on GPUs) and are silently dropped by ``IoUMetric``.

    Errors name the option or the label file. File-level problems (missing,
    truncated, colour or mis-sized label files) are caught when loading by
    :class:`~mmseg_ext.datasets.CheckedLoadAnnotations`.
    """
    priority = 'ABOVE_NORMAL'

    def before_train(self, runner) -> None:
        """Check the train set's classes against the model."""
        self._check_classes(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        """Check the val set's classes against the model."""
        self._check_classes(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        """Check the test set's classes against the model."""
        self._check_classes(runner, runner.test_dataloader, 'test')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Check the label ids of a training batch."""
        self._check_labels(runner, data_batch)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Check the label ids of a validation batch."""
        self._check_labels(runner, data_batch)

    def before_test_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None) -> None:
        """Check the label ids of a test batch."""
        self._check_labels(runner, data_batch)

    @staticmethod
    def _heads(runner) -> List[Tuple[str, torch.nn.Module]]:
        """``(option, head)`` for every head that predicts classes."""
        model = runner.model
        while is_model_wrapper(model) or hasattr(model, 'module'):
            model = model.module
        heads = []
        for name in ('decode_head', 'auxiliary_head'):
            head = getattr(model, name, None)
            if isinstance(head, torch.nn.ModuleList):
                heads += [(f'model.{name}[{i}]', h)
                          for i, h in enumerate(head)]
            elif head is not None:
                heads.append((f'model.{name}', head))
        return [(n, h) for n, h in heads if hasattr(h, 'num_classes')]

    def _check_classes(self, runner, dataloader, split: str) -> None:
        classes = dataloader.dataset.metainfo.get('classes')
        if classes is None:
            return
        for option, head in self._heads(runner):
            if head.num_classes != len(classes):
                dataset = dataloader.dataset
                root = getattr(dataset, 'data_root', None)
                raise ConfigError(
                    f'{option}.num_classes is {head.num_classes}, but the '
                    f'{split} set ({type(dataset).__name__}, data_root='
                    f'{root!r}) has {len(classes)} classes: set '
                    f'{option}.num_classes={len(classes)}')

    def _check_labels(self, runner, data_batch) -> None:
        heads = self._heads(runner)
        if not heads or not isinstance(data_batch, dict):
            return
        num_classes = heads[0][1].num_classes
        ignore_index: Optional[int] = getattr(heads[0][1], 'ignore_index',
                                              None)
        for sample in _flatten(data_batch.get('data_samples', [])):
            if 'gt_sem_seg' not in sample:
                continue
            label = sample.gt_sem_seg.data
            path = sample.metainfo.get('seg_map_path', '<unknown file>')
            if label.dim() == 3 and label.shape[0] != 1:
                raise DataError(
                    f'label map {path} has {label.shape[0]} channels, but '
                    'one channel of class ids is expected')
            bad = label >= num_classes
            if ignore_index is not None:
                bad &= label != ignore_index
            if bad.any():
                ids = torch.unique(label[bad]).tolist()
                shown = ', '.join(map(str, ids[:10]))
                raise DataError(
                    f'label map {path} holds class ids {shown}'
                    f'{" ..." if len(ids) > 10 else ""}, but the model has '
                    f'num_classes={num_classes} (ids 0-{num_classes - 1}) '
                    f'and ignore_index={ignore_index}: map those ids to '
                    'classes or to the ignore index (e.g. via the data set\'s'
                    ' label_map)')


def _flatten(samples) -> Iterator:
    """Data samples of a batch, also when TTA nests them in lists."""
    for sample in samples:
        if isinstance(sample, (list, tuple)):
            yield from _flatten(sample)
        else:
            yield sample
