# mmseg's runtime settings plus this package's fault checks
# (docs/distributed_and_faults.md): training stops with a clear message at
# the first NaN/inf loss; bad labels or a model/data-set class mismatch are
# refused instead of giving a quietly wrong loss or mIoU; a checkpoint that
# does not fit the model (load_from, tools/test.py, --resume) is refused,
# naming the weights (load_partial=True loads the weights that fit).
# The hook types carry the package's scope ('mmseg_ext.'): MMEngine imports
# mmseg_ext when it builds them, so this base works next to a stock mmseg
# model base. (custom_imports here would clash with the model bases' own:
# MMEngine refuses a key that two bases of one config both define.)
# Checkpoint safety is the schedule's: default_hooks.checkpoint.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_hooks = [
    dict(type='mmseg_ext.CheckInvalidLossHook', interval=1),
    dict(type='mmseg_ext.CheckSegDataHook'),
    dict(type='mmseg_ext.CheckLoadedWeightsHook')
]
