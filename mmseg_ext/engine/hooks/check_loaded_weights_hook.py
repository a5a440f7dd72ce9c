import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint
from mmseg.registry import HOOKS

from ..checkpoint import check_weights_fit, loaded_from


@HOOKS.register_module()
class CheckLoadedWeightsHook(Hook):
    """Refuse a checkpoint that does not fit the model.

    MMEngine's runner loads ``load_from`` (also the checkpoint of
    ``tools/test.py``) and ``--resume`` with ``strict=False``: a weight that
    the checkpoint lacks or holds with another shape, e.g. the head of a
    21-class model under an 11-class config, is reported somewhere in the
    log, and the run goes on with that part of the model random. This hook
    stops the run first, naming each such weight and both shapes
    (:func:`~mmseg_ext.engine.check_weights_fit`).

    To fine-tune from weights that fit only in part (another number of
    classes, another head), set ``load_partial=True`` in the config
    (``--cfg-options load_partial=True``; the model's own
    ``model.load_partial=True`` of :class:`~mmseg_ext.engine.WeightsFitMixin`
    counts too): the mismatch is then logged as one warning and the weights
    that fit are loaded. A model that checks its own weights
    (:class:`~mmseg_ext.engine.WeightsFitMixin`) is told that this load is
    checked, so nothing is reported twice.
    """
    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint's weights with the model's."""
        model = runner.model
        # MMEngine loads into the wrapped model, also under --tta
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        state_dict = checkpoint.get('state_dict', checkpoint)
        source = (
            loaded_from(state_dict) or runner.cfg.get('load_from')
            or find_latest_checkpoint(runner.work_dir))
        partial = bool(
            runner.cfg.get('load_partial', False)
            or getattr(model, 'load_partial', False))
        message = check_weights_fit(
            model, state_dict, source=source, partial=partial)
        if message:
            print_log(
                f'{message} (load_partial=True: loading the weights that '
                'fit)',
                logger='current',
                level=logging.WARNING)
        if hasattr(model, 'skip_next_weights_check'):
            model.skip_next_weights_check()
