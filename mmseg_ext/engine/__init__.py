"""Runner parts: fault checks, safe checkpoints and their errors."""
from .checkpoint import (UnsafeCheckpointError, check_weights_fit,
                         load_from_local, register_checkpoint_loader,
                         register_safe_globals, safe_globals,
                         verify_checkpoint)
from .checks import check_checkpoint
from .errors import (CheckpointError, ConfigError, DataError, InvalidLossError,
                     MMSegExtError)
from .fileio import AtomicLocalBackend
from .hooks import (CheckInvalidLossHook, CheckLoadedWeightsHook,
                    CheckSegDataHook, SafeCheckpointHook)

__all__ = [
    'AtomicLocalBackend', 'CheckInvalidLossHook', 'CheckLoadedWeightsHook',
    'CheckSegDataHook', 'CheckpointError', 'ConfigError', 'DataError',
    'InvalidLossError', 'MMSegExtError', 'SafeCheckpointHook',
    'UnsafeCheckpointError', 'check_checkpoint', 'check_weights_fit',
    'load_from_local', 'register_checkpoint_loader', 'register_safe_globals',
    'safe_globals', 'verify_checkpoint'
]
