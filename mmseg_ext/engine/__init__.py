"""Runner parts: fault checks, safe checkpoints and their errors."""
from .checkpoint import (UnsafeCheckpointError, WeightsFitMixin,
                         check_weights_fit, load_from_local, loaded_from,
                         register_checkpoint_loader, register_safe_globals,
                         safe_globals, verify_checkpoint)
from .checks import check_checkpoint, check_work_dir, lock_work_dir
from .errors import (CheckpointError, ConfigError, DataError, InvalidLossError,
                     MMSegExtError, WorkDirError)
from .fileio import AtomicLocalBackend
from .hooks import (CheckInvalidLossHook, CheckLoadedWeightsHook,
                    CheckSegDataHook, SafeCheckpointHook)

__all__ = [
    'AtomicLocalBackend', 'CheckInvalidLossHook', 'CheckLoadedWeightsHook',
    'CheckSegDataHook', 'CheckpointError', 'ConfigError', 'DataError',
    'InvalidLossError', 'MMSegExtError', 'SafeCheckpointHook',
    'UnsafeCheckpointError', 'WeightsFitMixin', 'WorkDirError',
    'check_checkpoint', 'check_weights_fit', 'check_work_dir',
    'load_from_local', 'loaded_from', 'lock_work_dir',
    'register_checkpoint_loader', 'register_safe_globals', 'safe_globals',
    'verify_checkpoint'
]
