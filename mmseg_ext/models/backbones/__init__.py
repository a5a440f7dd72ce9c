from .vgg import VGG
from .vgg_convert import convert_vgg

__all__ = ['VGG', 'convert_vgg']
