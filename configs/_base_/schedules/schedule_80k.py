# mmseg's 80k schedule with atomic checkpoint writes (file backend
# 'atomic_local'): a run killed while saving never leaves a file that
# --resume picks up and dies on. For a remote out_dir set backend_args=None.
# The scoped type ('mmseg_ext.') imports the package, as in
# ../default_runtime.py.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
default_hooks = dict(
    checkpoint=dict(
        type='mmseg_ext.SafeCheckpointHook',
        backend_args=dict(backend='atomic_local')))
