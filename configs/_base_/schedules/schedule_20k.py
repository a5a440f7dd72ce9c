# mmseg's 20k schedule with atomic checkpoint writes: a run killed while
# saving never leaves a file that --resume picks up and dies on
_base_ = 'mmseg::_base_/schedules/schedule_20k.py'
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
