from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import FUSIONS, UpFusionBlock
from .mirror_decode_head import MirrorDecodeHead


@MODELS.register_module()
class UNetHead(MirrorDecodeHead):
    """Decoder of U-Net: learned 2x upsampling, skip fusion, convs.

    U-Net: Convolutional Networks for Biomedical Image Segmentation
    (Ronneberger, Fischer & Brox, MICCAI 2015), on a classification encoder
    as in the VGG16 U-Net of the course notes this package follows.

    The inputs are one feature map per encoder stage, shallow to deep, each
    at half the size of the previous one (``in_channels`` are their
    widths): on VGG16 the stage outputs before pooling, block1_conv2 ...
    block5_conv3 at strides 1 ... 16 (``VGG(out_pre_pool=True)``); on
    ResNet C2-C5 at strides 4 ... 32. Decoding starts from the deepest
    input; each shallower input ``i`` is a skip fused by an
    :class:`~mmseg_ext.models.utils.UpFusionBlock`: 2x transposed
    convolution initialised to bilinear upsampling, crop or pad to the
    skip's size (odd sizes work), concatenation (``fusion='concat'``, U-Net)
    or addition (``'sum'``, the notes' variant), then ``num_convs``
    conv-BN-ReLU blocks of width ``decoder_channels[i]``. The logits come
    out on the shallowest input's grid (full size on VGG, 1/4 on ResNet,
    which the base class resizes).

    Args:
        in_channels (Sequence[int]): Widths of the inputs, shallow to deep.
        decoder_channels (Sequence[int], optional): Width of each decoder
            stage, shallow to deep, one per input but the deepest. Default:
            None, the widths of the skips (``in_channels[:-1]``), mirroring
            the encoder.
        num_convs (int | Sequence[int]): Conv blocks of each decoder stage
            (shallow to deep), or one number for all. Default: 2.
        kernel_size (int): Kernel of the decoder convs. Default: 3.
        fusion (str): ``'concat'`` or ``'sum'``. Default: ``'concat'``.
        **kwargs: Passed to :class:`BaseDecodeHead`; ``channels`` is
            ``decoder_channels[0]`` and ``input_transform`` is
            ``'multiple_select'``, so neither is given.
    """

    min_inputs = 2

    def __init__(self,
                 in_channels: Sequence[int],
                 decoder_channels: Optional[Sequence[int]] = None,
                 num_convs: Union[int, Sequence[int]] = 2,
                 kernel_size: int = 3,
                 fusion: str = 'concat',
                 **kwargs):
        if 'channels' in kwargs:
            raise TypeError('UNetHead sets `channels` itself (the first '
                            'decoder width); remove it from the head config')
        self._check_in_channels(in_channels)
        num_skips = len(in_channels) - 1
        if decoder_channels is None:
            decoder_channels = in_channels[:-1]
        stage = 'input but the deepest'
        decoder_channels = self._per_stage('decoder_channels',
                                           decoder_channels, num_skips, stage)
        if isinstance(num_convs, int):
            num_convs = [num_convs] * num_skips
        num_convs = self._per_stage('num_convs', num_convs, num_skips, stage)
        if fusion not in FUSIONS:
            raise ValueError(f'`fusion` must be one of {FUSIONS}, got '
                             f'{fusion!r}')
        super().__init__(in_channels, channels=decoder_channels[0], **kwargs)
        self.fusion = fusion
        coarse = decoder_channels[1:] + [in_channels[-1]]
        self.stages = nn.ModuleList(
            UpFusionBlock(
                coarse_ch,
                skip_ch,
                out_ch,
                n,
                fusion=fusion,
                kernel_size=kernel_size,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for coarse_ch, skip_ch, out_ch, n in zip(
                    coarse, in_channels[:-1], decoder_channels, num_convs))

    def init_weights(self):
        super().init_weights()
        for stage in self.stages:
            stage.init_weights()

    def side_inputs(self, inputs: Sequence[Tensor],
                    feats: List[Tensor]) -> List[Tensor]:
        """The skips: every input but the deepest."""
        return feats[:-1]
