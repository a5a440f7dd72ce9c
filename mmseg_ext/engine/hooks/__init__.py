from .check_invalid_loss_hook import CheckInvalidLossHook
from .check_loaded_weights_hook import CheckLoadedWeightsHook
from .check_seg_data_hook import CheckSegDataHook
from .rank_zero_logger_hook import RankZeroLoggerHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'CheckInvalidLossHook', 'CheckLoadedWeightsHook', 'CheckSegDataHook',
    'RankZeroLoggerHook', 'SafeCheckpointHook'
]
