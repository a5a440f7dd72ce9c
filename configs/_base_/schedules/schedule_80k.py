# mmseg's 80k schedule with atomic checkpoint writes (file backend
# 'atomic_local'): a run killed while saving never leaves a file that
# --resume picks up and dies on. For a remote out_dir set backend_args=None.
# The logger writes the test metrics' JSON from rank 0 only (mmengine
# 0.10.7 writes it from every rank to one path, a race in dist_test.sh).
# The scoped type ('mmseg_ext.') imports the package, as in
# ../default_runtime.py.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
default_hooks = dict(
    logger=dict(type='mmseg_ext.RankZeroLoggerHook'),
    checkpoint=dict(
        type='mmseg_ext.SafeCheckpointHook',
        backend_args=dict(backend='atomic_local')))
