"""Turn torchvision VGG weights into :class:`VGG` backbone weights."""
from collections import OrderedDict
from typing import Dict

from torch import Tensor


def convert_vgg(state_dict: Dict[str, Tensor],
                fc_channels: int = 4096,
                fc6_kernel: int = 7) -> 'OrderedDict[str, Tensor]':
    """Map a torchvision VGG state dict onto the backbone's names.

    ``features.*`` keep their names. The classifier's ``0`` and ``3`` Linear
    layers become the ``fc6`` (``fc_channels x 512 x 7 x 7``) and ``fc7``
    (``fc_channels x fc_channels x 1 x 1``) convolutions, as FCN
    convolutionalises them; ``classifier.6`` (the 1000-way ImageNet
    classifier) is dropped. Narrower or smaller fc layers are made by
    decimation, as DeepLab-LargeFOV does: every ``4096 // fc_channels``-th
    filter, and every ``6 // (fc6_kernel - 1)``-th tap of the 7x7 kernel.

    Args:
        state_dict: torchvision ``vgg*`` or ``vgg*_bn`` weights.
        fc_channels (int): Width of fc6/fc7; must divide 4096.
        fc6_kernel (int): Kernel of fc6: 7, 4, 3 or 2 (taps evenly spread).

    Returns:
        OrderedDict: Weights for ``VGG(with_fc=True, ...)``.
    """
    if 'state_dict' in state_dict:
        state_dict = state_dict['state_dict']
    if not any(k.startswith('features.') for k in state_dict):
        raise KeyError('not a torchvision VGG state dict: no `features.*` '
                       f'keys among {sorted(state_dict)[:5]}...')
    if 4096 % fc_channels or fc6_kernel not in (2, 3, 4, 7):
        raise ValueError('need fc_channels dividing 4096 and fc6_kernel in '
                         f'(2, 3, 4, 7), got {fc_channels}, {fc6_kernel}')
    ch_step, tap_step = 4096 // fc_channels, 6 // (fc6_kernel - 1)
    out = OrderedDict(
        (k, v) for k, v in state_dict.items() if k.startswith('features.'))
    if 'classifier.0.weight' in state_dict:
        in_ch = state_dict['classifier.0.weight'].shape[1] // 49
        fc6 = state_dict['classifier.0.weight'].reshape(4096, in_ch, 7, 7)
        out['fc6.weight'] = fc6[::ch_step, :, ::tap_step, ::
                                tap_step].contiguous()
        out['fc6.bias'] = state_dict['classifier.0.bias'][::ch_step].clone()
        fc7 = state_dict['classifier.3.weight'][::ch_step, ::ch_step]
        out['fc7.weight'] = fc7.reshape(*fc7.shape, 1, 1).contiguous()
        out['fc7.bias'] = state_dict['classifier.3.bias'][::ch_step].clone()
    return out
