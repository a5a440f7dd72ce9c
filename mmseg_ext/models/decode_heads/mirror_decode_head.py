"""Shared base of the decoders that mirror their encoder stage by stage."""
from typing import List, Optional, Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from ..utils import UnpoolBlock, check_switch_source, collect_switches


class MirrorDecodeHead(BaseDecodeHead):
    """Base of decode heads that walk an encoder's stages back up.

    The inputs are one feature map per encoder stage, shallow to deep
    (``in_channels`` are their widths; ``input_transform`` is always
    ``'multiple_select'``). Decoding starts from the deepest input and runs
    ``self.stages`` deep to shallow, each stage taking the running map and
    its own side input (:meth:`side_inputs`: pooling switches for SegNet and
    DeconvNet, skip features for U-Net); the result is scored by
    ``conv_seg``. A subclass checks its own arguments, builds
    ``self.stages`` (shallow to deep, aligned with the end of the side
    inputs) and defines :meth:`side_inputs`.

    Args:
        in_channels (Sequence[int]): Widths of the inputs, shallow to deep.
        **kwargs: Passed to :class:`BaseDecodeHead`.
    """

    #: Fewest inputs the head can decode.
    min_inputs: int = 1

    def __init__(self, in_channels: Sequence[int], **kwargs):
        if 'input_transform' in kwargs:
            raise TypeError(f'{type(self).__name__} sets `input_transform` '
                            'itself; remove it from the head config')
        self._check_in_channels(in_channels)
        super().__init__(
            in_channels, input_transform='multiple_select', **kwargs)

    @classmethod
    def _check_in_channels(cls, in_channels: Sequence[int]) -> None:
        """Raise unless ``in_channels`` lists enough input widths."""
        if (not isinstance(in_channels, (list, tuple))
                or len(in_channels) < cls.min_inputs):
            least = (''
                     if cls.min_inputs == 1 else f'at least {cls.min_inputs} ')
            raise TypeError(f'{cls.__name__} needs `in_channels` as a list '
                            f'of {least}ints (shallow to deep), got '
                            f'{in_channels!r}')

    @staticmethod
    def _per_stage(name: str,
                   value: Sequence,
                   num: int,
                   what: str = 'input') -> List:
        """Check that ``value`` has one entry per stage."""
        if len(value) != num:
            raise ValueError(f'`{name}` {tuple(value)} needs one entry per '
                             f'{what}, {num}')
        return list(value)

    def side_inputs(self, inputs: Sequence[Tensor],
                    feats: List[Tensor]) -> Sequence:
        """What each stage gets besides the running map, shallow to deep.

        Args:
            inputs (Sequence[Tensor]): The backbone's outputs as given.
            feats (list[Tensor]): The selected inputs, shallow to deep.
        """
        raise NotImplementedError

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Decode the deepest input back to the shallowest and score."""
        feats = self._transform_inputs(inputs)
        sides = self.side_inputs(inputs, feats)
        x = feats[-1]
        for stage, side in zip(reversed(self.stages), reversed(sides)):
            x = stage(x, side)
        return self.cls_seg(x)


class UnpoolDecodeHead(MirrorDecodeHead):
    """Base of the max-unpooling decoders (SegNet, DeconvNet).

    One :class:`~mmseg_ext.models.utils.UnpoolBlock` per input: stage ``i``
    unpools with the switches of input ``i`` (where it has them) and applies
    ``num_convs[i]`` conv-norm-act blocks, the last narrowing to
    ``in_channels[i - 1]`` (``channels`` for stage 0).

    Where the switches come from (``switch_source``):

    - ``'backbone'``: the encoder's own max-pooling switches, recorded by a
      backbone such as ``VGG(return_switches=True)``.
    - ``'features'``: for encoders that downsample with strided convs and
      record no switches, such as ResNet. Stage ``i`` unpools onto the grid
      of input ``i`` with the per-channel argmax of a 2x2, stride-2,
      ceil-mode max-pooling of that input; the deepest stage only convolves.

    Args:
        in_channels (Sequence[int]): Widths of the inputs, shallow to deep.
        num_convs (Sequence[int]): Conv blocks of each stage, shallow to
            deep.
        switch_source (str): ``'backbone'`` or ``'features'``. Default:
            ``'backbone'``.
        **kwargs: Passed to :class:`BaseDecodeHead`.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_convs: Sequence[int],
                 switch_source: str = 'backbone',
                 **kwargs):
        check_switch_source(switch_source)
        super().__init__(in_channels, **kwargs)
        self.num_convs = self._per_stage('num_convs', num_convs,
                                         len(in_channels))
        self.switch_source = switch_source

    def _unpool_stages(self, kernel_sizes: Sequence[int]) -> nn.ModuleList:
        """One unpooling stage per input, mirroring the encoder's widths."""
        out_widths = [self.channels] + list(self.in_channels[:-1])
        return nn.ModuleList(
            UnpoolBlock(
                in_ch,
                out_ch,
                n,
                k,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for in_ch, out_ch, n, k in
            zip(self.in_channels, out_widths, self.num_convs, kernel_sizes))

    def side_inputs(self, inputs: Sequence[Tensor],
                    feats: List[Tensor]) -> List[Optional[tuple]]:
        """The switches of each stage (see ``switch_source``)."""
        return collect_switches(inputs, feats, self.in_index,
                                self.switch_source)
