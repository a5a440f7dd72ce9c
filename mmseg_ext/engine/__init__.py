"""Runner parts: fault checks, safe checkpoints and their errors."""
from .checkpoint import (UnsafeCheckpointError, load_from_local,
                         register_checkpoint_loader, register_safe_globals,
                         safe_globals, verify_checkpoint)
from .checks import check_checkpoint
from .errors import (CheckpointError, ConfigError, DataError, InvalidLossError,
                     MMSegExtError)
from .fileio import AtomicLocalBackend
from .hooks import CheckInvalidLossHook, CheckSegDataHook, SafeCheckpointHook

__all__ = [
    'AtomicLocalBackend', 'CheckInvalidLossHook', 'CheckSegDataHook',
    'CheckpointError', 'ConfigError', 'DataError', 'InvalidLossError',
    'MMSegExtError', 'SafeCheckpointHook', 'UnsafeCheckpointError',
    'check_checkpoint', 'load_from_local', 'register_checkpoint_loader',
    'register_safe_globals', 'safe_globals', 'verify_checkpoint'
]
