from .context_head import ContextHead
from .deconvnet_head import DeconvNetHead
from .fcn_skip_head import FCNSkipHead
from .largefov_head import LargeFOVHead
from .mirror_decode_head import MirrorDecodeHead, UnpoolDecodeHead
from .segnet_head import SegNetHead
from .unet_head import UNetHead

__all__ = [
    'FCNSkipHead', 'SegNetHead', 'DeconvNetHead', 'ContextHead',
    'LargeFOVHead', 'UNetHead', 'MirrorDecodeHead', 'UnpoolDecodeHead'
]
