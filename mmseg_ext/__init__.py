"""Classic encoder-decoder segmentation models for MMSegmentation 1.x.

Importing the package registers its models, datasets and engine parts into
mmseg's registries, and makes three explicit calls: weights-only loading
reads the checkpoints MMEngine writes
(:func:`~mmseg_ext.engine.register_safe_globals`), MMEngine's local
checkpoint loading gives one-line errors
(:func:`~mmseg_ext.engine.register_checkpoint_loader`), and setuptools'
``pkg_resources`` notice is hidden
(:func:`~mmseg_ext.utils.silence_pkg_resources_warning`).
"""
from . import datasets, engine, models, utils  # noqa: F401
from .engine import register_checkpoint_loader, register_safe_globals
from .utils import silence_pkg_resources_warning
from .version import __version__

register_safe_globals()
register_checkpoint_loader()
silence_pkg_resources_warning()

__all__ = ['__version__']
