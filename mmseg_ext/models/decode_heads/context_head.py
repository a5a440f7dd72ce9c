from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


def identity_init_(conv: nn.Conv2d, num_groups: int, std: float = 0.) -> None:
    """Yu & Koltun's identity(-like) initialisation of a convolution.

    Input channel ``a`` of ``c_in`` and output channel ``b`` of ``c_out``
    belong to groups ``a * G // c_in`` and ``b * G // c_out`` of ``G =
    num_groups`` (the classes). The centre tap gets ``G / c_out`` where the
    groups match; every other weight is drawn from ``N(0, std^2)`` and the
    bias is zero. With ``c_in = c_out = G`` and ``std = 0`` this is the
    identity; between widths that are multiples of ``G`` it maps a group's
    total to the next layer's group total (each channel carrying an equal
    share), which is the identity up to the noise.

    Args:
        conv (nn.Conv2d): Convolution with an odd square kernel.
        num_groups (int): ``G``, which divides both widths.
        std (float): Standard deviation of the noise. Default: 0.
    """
    c_out, c_in, kh, kw = conv.weight.shape
    weight = torch.zeros_like(conv.weight)
    if std > 0:
        weight.normal_(0, std)
    groups_out = torch.arange(c_out) * num_groups // c_out
    groups_in = torch.arange(c_in) * num_groups // c_in
    match = groups_out[:, None] == groups_in[None, :]
    centre = weight[:, :, kh // 2, kw // 2]
    centre[match] = num_groups / c_out
    with torch.no_grad():
        conv.weight.copy_(weight)
        if conv.bias is not None:
            conv.bias.zero_()


@MODELS.register_module()
class ContextHead(BaseDecodeHead):
    """DilatedNet's front-end classifier and multi-scale context module.

    Multi-Scale Context Aggregation by Dilated Convolutions (Yu & Koltun,
    ICLR 2016).

    The input (fc7 of the dilated VGG16 front-end, or C5 of a dilated
    ResNet, both at output stride 8) is scored into ``C = num_classes`` maps
    by a 1x1 convolution, ``frontend_seg`` (the front-end's ``final``
    layer). The context module then applies seven 3x3 convolutions with
    dilations 1, 1, 2, 4, 8, 16, 1, each followed by the activation (ReLU),
    and a 1x1 convolution back to ``C`` maps, which is this head's
    ``conv_seg`` (the paper's ``ctx_final``, after the base class's
    dropout). The 3x3 layers have ``C`` channels in the ``'basic'`` variant
    and 2C, 2C, 4C, 8C, 16C, 32C, 32C in the ``'large'`` one.

    Identity initialisation as in the paper (:func:`identity_init_`): in the
    basic module every kernel is the identity with zero bias, so the module
    passes its (non-negative, as the ReLUs truncate) input through
    unchanged; the large module uses the paper's identity-like weights
    ``C / c_{i+1}`` between matching channel groups plus Gaussian noise of
    std ``init_std`` elsewhere, which breaks the symmetry between the
    channels of a group and is the identity up to that noise. This happens
    in :meth:`init_weights`, after ``frontend_seg`` is drawn from
    ``init_cfg`` (Normal, std 0.01, by default), and is skipped when the
    head's ``init_cfg`` loads pretrained weights.

    The paper's fixed bilinear 8x deconvolution to the label size is the
    base class's bilinear resize in ``loss_by_feat``/``predict_by_feat``.

    Args:
        variant (str): ``'basic'`` or ``'large'``. Default: ``'basic'``.
        dilations (Sequence[int]): Dilations of the seven 3x3 layers.
            Default: (1, 1, 2, 4, 8, 16, 1).
        init_std (float): Noise of the large variant's identity-like
            initialisation (the paper's sigma, much smaller than
            ``C / c_{i+1} >= 1/32``). Default: 1e-3.
        **kwargs: Passed to :class:`BaseDecodeHead`; ``channels`` follows
            from ``variant`` and ``num_classes``, so it is not given.
    """

    width_multipliers = {
        'basic': (1, 1, 1, 1, 1, 1, 1),
        'large': (2, 2, 4, 8, 16, 32, 32),
    }

    def __init__(self,
                 variant: str = 'basic',
                 dilations: Sequence[int] = (1, 1, 2, 4, 8, 16, 1),
                 init_std: float = 1e-3,
                 **kwargs):
        if variant not in self.width_multipliers:
            raise ValueError(f'ContextHead `variant` must be one of '
                             f'{sorted(self.width_multipliers)}, got '
                             f'{variant!r}')
        multipliers = self.width_multipliers[variant]
        if len(dilations) != len(multipliers) or any(
                not isinstance(d, int) or d < 1 for d in dilations):
            raise ValueError(f'ContextHead `dilations` must be '
                             f'{len(multipliers)} positive ints, got '
                             f'{dilations!r}')
        if not init_std >= 0:
            raise ValueError(
                f'ContextHead `init_std` must be >= 0, got {init_std!r}')
        if 'channels' in kwargs:
            raise TypeError('ContextHead sets `channels` itself from '
                            '`variant` and `num_classes`; remove it from '
                            'the head config')
        if 'num_classes' not in kwargs:
            raise TypeError('ContextHead needs `num_classes`')
        num_maps = kwargs.get('out_channels') or kwargs['num_classes']
        kwargs.setdefault(
            'init_cfg',
            dict(type='Normal', std=0.01, override=dict(name='frontend_seg')))
        super().__init__(channels=multipliers[-1] * num_maps, **kwargs)
        self.variant = variant
        self.init_std = init_std
        self.frontend_seg = nn.Conv2d(self.in_channels, num_maps, 1)
        widths = [num_maps] + [m * num_maps for m in multipliers]
        layers = []
        for c_in, c_out, dilation in zip(widths[:-1], widths[1:], dilations):
            layers.append(
                ConvModule(
                    c_in,
                    c_out,
                    3,
                    padding=dilation,
                    dilation=dilation,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg))
        self.context = nn.Sequential(*layers)

    def init_weights(self) -> None:
        first_call = not self._is_init
        super().init_weights()
        cfgs = self.init_cfg
        if not isinstance(cfgs, list):
            cfgs = [cfgs]
        if not first_call or any(
                cfg and cfg.get('type') == 'Pretrained' for cfg in cfgs):
            return
        std = self.init_std if self.variant == 'large' else 0.
        num_maps = self.out_channels
        for layer in self.context:
            identity_init_(layer.conv, num_maps, std)
        identity_init_(self.conv_seg, num_maps, std)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Score the features, then aggregate context over the scores."""
        x = self._transform_inputs(inputs)
        x = self.context(self.frontend_seg(x))
        return self.cls_seg(x)
