from typing import Sequence

import torch.nn as nn
from mmseg.registry import MODELS

from .mirror_decode_head import UnpoolDecodeHead


@MODELS.register_module()
class SegNetHead(UnpoolDecodeHead):
    """Decoder of SegNet: max-unpooling with the encoder's switches + convs.

    SegNet: A Deep Convolutional Encoder-Decoder Architecture for Image
    Segmentation (Badrinarayanan, Kendall & Cipolla, TPAMI 2017).

    The decoder mirrors the encoder. The inputs are one feature map per
    encoder stage, shallow to deep (``in_channels`` are their widths), and
    decoding starts from the deepest. Stage ``i``, deep to shallow, unpools
    with its switches to the encoder's pre-pool size (odd input sizes come
    back exactly) and applies ``num_convs[i]`` conv-BN-ReLU blocks, the last
    of which narrows to ``in_channels[i - 1]`` (``channels`` for stage 0).
    There is no learned upsampling. The score layer ``conv_seg`` is a 3x3
    conv as in the paper. On VGG16-BN with ``num_convs=(1, 2, 3, 3, 3)``
    this is SegNet's 13 decoder convs (12 blocks and the score conv); with
    four 64-wide stages of one 7x7 conv and a 1x1 score it is SegNet-Basic.

    The switches are the encoder's own (``switch_source='backbone'``, from
    ``VGG(return_switches=True)``: SegNet proper) or, for encoders that
    downsample with strided convs such as ResNet, made from the features
    (``'features'``): stage ``i`` unpools onto the grid of input ``i`` with
    the per-channel argmax of a 2x2, stride-2, ceil-mode max-pooling of that
    input, the switches a SegNet encoder would have recorded had it
    max-pooled there instead of striding (the grid matches the strided
    conv's, ``ceil(H / 2)``). Decoding then starts with convs on the deepest
    input (no unpooling) and ends on the shallowest input's grid; e.g. C2-C5
    of ResNet give logits at 1/4 size, which the base class resizes as for
    any head. See :class:`UnpoolDecodeHead`.

    Args:
        in_channels (Sequence[int]): Widths of the inputs, shallow to deep.
        num_convs (Sequence[int]): Conv blocks of each decoder stage,
            shallow to deep. Default: (1, 2, 3, 3, 3), SegNet's VGG16.
        kernel_size (int): Kernel of the decoder convs. Default: 3.
        seg_kernel_size (int): Kernel of the score conv. Default: 3.
        switch_source (str): ``'backbone'`` or ``'features'``, see above.
            Default: ``'backbone'``.
        **kwargs: Passed to :class:`BaseDecodeHead`; ``input_transform`` is
            ``'multiple_select'`` and is not given.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_convs: Sequence[int] = (1, 2, 3, 3, 3),
                 kernel_size: int = 3,
                 seg_kernel_size: int = 3,
                 switch_source: str = 'backbone',
                 **kwargs):
        if seg_kernel_size % 2 == 0:
            raise ValueError('`seg_kernel_size` must be odd, got '
                             f'{seg_kernel_size}')
        super().__init__(in_channels, num_convs, switch_source, **kwargs)
        self.stages = self._unpool_stages([kernel_size] * len(in_channels))
        self.conv_seg = nn.Conv2d(
            self.channels,
            self.out_channels,
            seg_kernel_size,
            padding=seg_kernel_size // 2)
