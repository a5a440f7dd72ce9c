"""Classic encoder-decoder segmentation models for MMSegmentation 1.x.

Importing the package registers its models, datasets and engine parts into
mmseg's registries and lets ``torch.load(weights_only=True)`` read the
checkpoints MMEngine writes.
"""
from . import datasets, models, utils  # noqa: F401
from . import engine  # noqa: F401
from .version import __version__

__all__ = ['__version__']
