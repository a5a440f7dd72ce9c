from .dense_crf import DenseCRF
from .switches import FeaturesWithSwitches, Switch, get_switches
from .unpool import (SWITCH_SOURCES, UnpoolBlock, check_switch_source,
                     collect_switches, max_unpool2d, pool_switches)
from .upsample import (FUSIONS, UpFusionBlock, bilinear_kernel, crop_like,
                       crop_or_pad_like, init_bilinear_)

__all__ = [
    'FeaturesWithSwitches', 'Switch', 'get_switches', 'bilinear_kernel',
    'crop_like', 'init_bilinear_', 'SWITCH_SOURCES', 'UnpoolBlock',
    'collect_switches', 'max_unpool2d', 'pool_switches', 'DenseCRF', 'FUSIONS',
    'UpFusionBlock', 'crop_or_pad_like', 'check_switch_source'
]
