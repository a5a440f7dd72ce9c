from .dense_crf import DenseCRF
from .fast_inference import (FAST_CLI_CHOICES, FAST_DEFAULTS, FAST_OPTIONS,
                             FrozenCompiled, add_fast_argument, conv_bn_folded,
                             find_conv_bn_pairs, fold_conv_bn, parse_fast_cfg,
                             pays_channels_last)
from .switches import FeaturesWithSwitches, Switch, get_switches
from .unpool import (SWITCH_SOURCES, UnpoolBlock, check_switch_source,
                     collect_switches, max_unpool2d, native_unpool,
                     pool_switches)
from .upsample import (FUSIONS, UpFusionBlock, bilinear_kernel, crop_like,
                       crop_or_pad_like, init_bilinear_)

__all__ = [
    'FeaturesWithSwitches', 'Switch', 'get_switches', 'bilinear_kernel',
    'crop_like', 'init_bilinear_', 'SWITCH_SOURCES', 'UnpoolBlock',
    'collect_switches', 'max_unpool2d', 'pool_switches', 'DenseCRF', 'FUSIONS',
    'UpFusionBlock', 'crop_or_pad_like', 'check_switch_source', 'FAST_OPTIONS',
    'FAST_DEFAULTS', 'conv_bn_folded', 'native_unpool', 'find_conv_bn_pairs',
    'fold_conv_bn', 'parse_fast_cfg', 'FrozenCompiled', 'FAST_CLI_CHOICES',
    'add_fast_argument', 'pays_channels_last'
]
