# mmseg's runtime settings plus this package's fault checks
# (docs/distributed_and_faults.md): training stops with a clear message at
# the first NaN/inf loss, and bad labels or a model/data-set class mismatch
# are refused instead of giving a quietly wrong loss or mIoU. The hooks are
# registered by `import mmseg_ext`, which the model base configs request
# (custom_imports). Checkpoint safety (atomic writes, verified resume) is
# the schedule's hook: default_hooks.checkpoint.type='SafeCheckpointHook'.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_hooks = [
    dict(type='CheckInvalidLossHook', interval=1),
    dict(type='CheckSegDataHook')
]
