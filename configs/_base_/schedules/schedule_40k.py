# mmseg's 40k schedule with atomic checkpoint writes: a run killed while
# saving never leaves a file that --resume picks up and dies on
_base_ = 'mmseg::_base_/schedules/schedule_40k.py'
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
