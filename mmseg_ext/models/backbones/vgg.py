from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils import FeaturesWithSwitches


@MODELS.register_module()
class VGG(BaseModule):
    """VGG backbone for dense prediction.

    Very Deep Convolutional Networks for Large-Scale Image Recognition
    (Simonyan & Zisserman, ICLR 2015), with the changes segmentation models
    make to it: optional max-pooling switches (SegNet, DeconvNet), fully
    connected ``fc6``/``fc7`` turned into convolutions (FCN, DeconvNet,
    DeepLab, DilatedNet), and per-stage dilation and pooling stride for
    output stride 8 front-ends (DeepLab-LargeFOV, DilatedNet).

    Layers are built from :attr:`arch_settings` into one ``nn.Sequential``
    named ``features`` exactly like torchvision's VGG (``features.N.weight``),
    so torchvision weights load as they are; a removed pooling layer is an
    ``nn.Identity`` so that later indices stay the same. ``fc6``/``fc7`` take
    torchvision's ``classifier.0``/``classifier.3`` weights after reshaping
    (``tools/model_converters/vgg2mmseg.py``).

    Outputs are indexed 0-4 for the five stages and 5 for fc7. A stage's
    output is taken after its pooling (pool1..pool5, strides 2..32), or with
    ``out_pre_pool=True`` before it (block1_conv2 ... block5_conv3 in
    Keras' names, strides 1..16), as U-Net's skips need.

    Args:
        depth (int): 11, 13, 16 or 19.
        in_channels (int): Input image channels. Default: 3.
        stage_channels (Sequence[int]): Width of each stage's convs; other
            widths than VGG's (64, 128, 256, 512, 512) make small models
            that cannot load ImageNet weights.
        norm_cfg (dict, optional): Norm layer after every conv, e.g.
            ``dict(type='BN')`` for VGG-BN. Default: None.
        dilations (Sequence[int]): Dilation of the convs of each stage.
        pool_strides (Sequence[int]): Stride of each stage's max-pooling;
            0 removes that pooling layer.
        pool_kernel (int): Max-pooling window; padding is
            ``(pool_kernel - 1) // 2``. Default: 2.
        ceil_mode (bool): Ceil-mode pooling as in Caffe, so every input pixel
            is pooled on odd sizes. Default: True.
        return_switches (bool): Record each pooling's argmax indices and
            pre-pool size; outputs are then a
            :class:`~mmseg_ext.models.utils.FeaturesWithSwitches`.
        with_fc (bool): Add ``fc6`` and ``fc7`` as convolutions.
        fc_channels (int): Width of fc6/fc7. Default: 4096.
        fc6_kernel (int): Kernel of fc6. Default: 7.
        fc6_dilation (int): Dilation of fc6. Default: 1.
        fc_norm_cfg (dict, optional): Norm layer after fc6 and fc7 (before
            their ReLU), e.g. ``dict(type='BN')`` as in DeconvNet's release.
            Default: None.
        fc_dropout (float): Dropout after fc6 and fc7; 0 for none.
            Default: 0.5.
        pool5a (bool): A 3x3, stride-1, padding-1 average pooling after the
            last stage's pooling, before fc6, as DeepLab-LargeFOV's
            ``pool5a``; output 4 (pool5) is taken before it. Needs
            ``with_fc``. Default: False.
        out_indices (Sequence[int]): Outputs to return. Default: (4, ).
        out_pre_pool (bool): Take stage outputs 0-4 before the stage's
            pooling instead of after it; fc7 (5) is unchanged.
            Default: False.
        frozen_stages (int): Number of stages to freeze (stop grad, eval
            mode), from the first, as in mmcv's VGG: 1 freezes stage 0 and
            its pooling; one more than the stages also freezes fc6/fc7;
            -1 and 0 freeze none. Default: -1.
        norm_eval (bool): Keep norm layers in eval mode. Default: False.
        stage_convs (Sequence[int], optional): Convs of each stage, instead
            of ``depth``'s; its length sets the number of stages, e.g.
            ``(1, 1, 1, 1)`` for SegNet-Basic's encoder. Default: None.
        kernel_size (int): Odd kernel size of the convs; padding is
            ``dilation * (kernel_size - 1) // 2``. Default: 3.
        init_cfg (dict | list[dict], optional): Initialization config;
            Kaiming (fan-out) convs and unit norms when None, as in
            torchvision.

    Attributes:
        feature_info (list[dict]): For every output index, as timm records
            it: ``num_chs`` (width), ``reduction`` (stride, by the pooling
            strides; ceil-mode sizes round up) and ``module`` (the layer
            that makes it).
        out_channels (tuple[int]): Widths of the returned outputs, to give
            a decode head as ``in_channels``.

    Example:
        >>> import torch
        >>> from mmseg_ext.models import VGG
        >>> self = VGG(16, with_fc=True, fc_channels=64,
        ...            out_indices=(2, 3, 5)).eval()
        >>> for out in self(torch.rand(1, 3, 97, 123)):
        ...     print(tuple(out.shape))
        (1, 256, 13, 16)
        (1, 512, 7, 8)
        (1, 64, 4, 4)
        >>> self.out_channels
        (256, 512, 64)
    """

    arch_settings = {
        11: (1, 1, 2, 2, 2),
        13: (2, 2, 2, 2, 2),
        16: (2, 2, 3, 3, 3),
        19: (2, 2, 4, 4, 4),
    }

    def __init__(self,
                 depth: int = 16,
                 in_channels: int = 3,
                 stage_channels: Sequence[int] = (64, 128, 256, 512, 512),
                 norm_cfg: Optional[dict] = None,
                 dilations: Sequence[int] = (1, 1, 1, 1, 1),
                 pool_strides: Sequence[int] = (2, 2, 2, 2, 2),
                 pool_kernel: int = 2,
                 ceil_mode: bool = True,
                 return_switches: bool = False,
                 with_fc: bool = False,
                 fc_channels: int = 4096,
                 fc6_kernel: int = 7,
                 fc6_dilation: int = 1,
                 fc_norm_cfg: Optional[dict] = None,
                 fc_dropout: float = 0.5,
                 pool5a: bool = False,
                 out_indices: Sequence[int] = (4, ),
                 out_pre_pool: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 stage_convs: Optional[Sequence[int]] = None,
                 kernel_size: int = 3,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu'),
                dict(type='Constant', val=1, layer=['_BatchNorm'])
            ]
        super().__init__(init_cfg)
        if stage_convs is None:
            if depth not in self.arch_settings:
                raise KeyError(f'invalid depth {depth} for VGG, choose from '
                               f'{sorted(self.arch_settings)}')
            stage_convs = self.arch_settings[depth]
        elif not stage_convs or min(stage_convs) < 1:
            raise ValueError('`stage_convs` needs a positive number of convs '
                             f'per stage, got {stage_convs}')
        if kernel_size % 2 == 0:
            raise ValueError(f'`kernel_size` must be odd, got {kernel_size}')
        num_stages = len(stage_convs)
        for name, value in (('stage_channels', stage_channels),
                            ('dilations', dilations), ('pool_strides',
                                                       pool_strides)):
            if len(value) != num_stages:
                raise ValueError(f'`{name}` needs {num_stages} entries, '
                                 f'got {value}')
        max_index = num_stages if with_fc else num_stages - 1
        if not out_indices or any(not 0 <= i <= max_index
                                  for i in out_indices):
            raise ValueError(f'`out_indices` {out_indices} must lie in '
                             f'[0, {max_index}]' +
                             ('' if with_fc else ' (5 needs with_fc=True)'))
        if pool5a and not with_fc:
            raise ValueError('`pool5a` (average pooling before fc6) needs '
                             '`with_fc=True`')
        if not isinstance(out_pre_pool, bool):
            raise TypeError('`out_pre_pool` must be True or False, got '
                            f'{out_pre_pool!r}')
        max_frozen = num_stages + 1 if with_fc else num_stages
        if not -1 <= frozen_stages <= max_frozen:
            raise ValueError(f'`frozen_stages` must lie in [-1, {max_frozen}]'
                             f' (stages to freeze), got {frozen_stages}')
        self.out_indices = tuple(out_indices)
        self.out_pre_pool = out_pre_pool
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.return_switches = return_switches
        self.with_fc = with_fc

        layers: List[nn.Module] = []
        self.stage_ends: List[int] = []  # index of each stage's pool layer
        for num_convs, channels, dilation, stride in zip(
                stage_convs, stage_channels, dilations, pool_strides):
            for _ in range(num_convs):
                layers.append(
                    nn.Conv2d(
                        in_channels,
                        channels,
                        kernel_size,
                        padding=dilation * (kernel_size - 1) // 2,
                        dilation=dilation))
                if norm_cfg is not None:
                    layers.append(build_norm_layer(norm_cfg, channels)[1])
                layers.append(nn.ReLU(inplace=True))
                in_channels = channels
            self.stage_ends.append(len(layers))
            layers.append(
                nn.MaxPool2d(
                    pool_kernel,
                    stride=stride,
                    padding=(pool_kernel - 1) // 2,
                    ceil_mode=ceil_mode,
                    return_indices=return_switches) if stride else nn.Identity(
                    ))
        self.features = nn.Sequential(*layers)

        self.feature_info: List[dict] = []
        reduction = 1
        for end, channels, stride in zip(self.stage_ends, stage_channels,
                                         pool_strides):
            before = dict(
                num_chs=channels,
                reduction=reduction,
                module=f'features.{end - 1}')
            reduction *= stride or 1
            after = dict(
                num_chs=channels,
                reduction=reduction,
                module=f'features.{end}')
            self.feature_info.append(before if out_pre_pool else after)

        if with_fc:
            self.fc6 = nn.Conv2d(
                in_channels,
                fc_channels,
                fc6_kernel,
                padding=fc6_dilation * (fc6_kernel - 1) // 2,
                dilation=fc6_dilation)
            self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
            for name in ('fc6_norm', 'fc7_norm'):
                self.add_module(
                    name,
                    build_norm_layer(fc_norm_cfg, fc_channels)[1]
                    if fc_norm_cfg is not None else nn.Identity())
            self.relu = nn.ReLU(inplace=True)
            self.dropout = nn.Dropout(fc_dropout)
            self.pool5a = nn.AvgPool2d(
                3, stride=1, padding=1) if pool5a else nn.Identity()
            self.feature_info.append(
                dict(num_chs=fc_channels, reduction=reduction, module='fc7'))
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs, switches = [], []
        start = 0
        for i, end in enumerate(self.stage_ends):
            x = self.features[start:end](x)
            if self.out_pre_pool and i in self.out_indices:
                outs.append(x)
            pool = self.features[end]
            if self.return_switches and isinstance(pool, nn.MaxPool2d):
                size = x.shape[-2:]
                x, indices = pool(x)
                switches.append((indices, size))
            else:
                x = pool(x)
                switches.append(None)
            start = end + 1
            if not self.out_pre_pool and i in self.out_indices:
                outs.append(x)
        if self.with_fc and len(self.stage_ends) in self.out_indices:
            x = self.pool5a(x)
            x = self.dropout(self.relu(self.fc6_norm(self.fc6(x))))
            x = self.dropout(self.relu(self.fc7_norm(self.fc7(x))))
            outs.append(x)
        if self.return_switches:
            return FeaturesWithSwitches(outs, switches)
        return tuple(outs)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """Widths of the returned outputs, in the order returned."""
        return tuple(self.feature_info[i]['num_chs']
                     for i in sorted(set(self.out_indices)))

    def _freeze_stages(self):
        if self.frozen_stages <= 0:
            return
        num_stages = len(self.stage_ends)
        end = self.stage_ends[min(self.frozen_stages, num_stages) - 1]
        frozen = list(self.features[:end + 1])
        if self.frozen_stages > num_stages:
            frozen += [self.fc6, self.fc7, self.fc6_norm, self.fc7_norm]
        for m in frozen:
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
