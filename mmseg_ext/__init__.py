"""Classic encoder-decoder segmentation models for MMSegmentation 1.x.

Importing the package registers its models, datasets and engine parts into
mmseg's registries, and makes two explicit calls: weights-only loading
reads the checkpoints MMEngine writes
(:func:`~mmseg_ext.engine.register_safe_globals`), and MMEngine's local
checkpoint loading gives one-line errors
(:func:`~mmseg_ext.engine.register_checkpoint_loader`).
"""
from . import datasets, engine, models, utils  # noqa: F401
from .engine import register_checkpoint_loader, register_safe_globals
from .version import __version__

register_safe_globals()
register_checkpoint_loader()

__all__ = ['__version__']
