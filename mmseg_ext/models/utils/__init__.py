from .switches import FeaturesWithSwitches, Switch, get_switches
from .upsample import bilinear_kernel, crop_like, init_bilinear_

__all__ = [
    'FeaturesWithSwitches', 'Switch', 'get_switches', 'bilinear_kernel',
    'crop_like', 'init_bilinear_'
]
