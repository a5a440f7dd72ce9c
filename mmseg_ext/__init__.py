"""Classic encoder-decoder segmentation models for MMSegmentation 1.x.

Importing the package registers its models, datasets and engine parts into
mmseg's registries and lets ``torch.load(weights_only=True)`` read the
checkpoints MMEngine writes (:func:`~mmseg_ext.engine.register_safe_globals`).
"""
from . import datasets, engine, models, utils  # noqa: F401
from .engine import register_safe_globals
from .version import __version__

register_safe_globals()

__all__ = ['__version__']
