from typing import List, Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import crop_like, init_bilinear_


@MODELS.register_module()
class FCNSkipHead(BaseDecodeHead):
    """Skip-fusion head of FCN-32s/16s/8s.

    Fully Convolutional Networks for Semantic Segmentation (Long, Shelhamer
    & Darrell, CVPR 2015).

    The inputs are ordered fine to coarse, e.g. pool3, pool4, fc7 on VGG16
    or C3, C4, C5 on ResNet; how many are given picks the variant: one input
    is FCN-32s, two FCN-16s, three FCN-8s. The coarsest input is scored by
    ``conv_seg`` (FCN's ``score_fr``, after dropout); each finer input by a
    1x1 score layer initialised to zero, so that training starts from the
    coarser net's prediction as in the paper's staged training. Going fine
    ward, the running score is upsampled 2x by a learned deconvolution
    initialised to bilinear interpolation, cropped to the finer map (ceil-
    mode pooling makes it at most one pixel larger on odd sizes) and summed
    with it. The last, fixed bilinear upsampling to the label size is the
    base class's resize.

    Args:
        in_channels (Sequence[int]): Channels of the inputs, fine to coarse.
        **kwargs: Passed to :class:`BaseDecodeHead`; ``channels`` is the
            coarsest input's width and ``input_transform`` is
            ``'multiple_select'``, so neither is given.
    """

    def __init__(self, in_channels: Sequence[int], **kwargs):
        for key in ('channels', 'input_transform'):
            if key in kwargs:
                raise TypeError(f'FCNSkipHead sets `{key}` itself; remove '
                                'it from the head config')
        if not isinstance(in_channels, (list, tuple)) or not in_channels:
            raise TypeError('FCNSkipHead needs `in_channels` as a list of '
                            f'ints (fine to coarse), got {in_channels!r}')
        super().__init__(
            in_channels,
            channels=in_channels[-1],
            input_transform='multiple_select',
            **kwargs)
        num_classes = self.out_channels
        self.skip_scores = nn.ModuleList(
            nn.Conv2d(c, num_classes, 1) for c in in_channels[:-1])
        self.upsamples = nn.ModuleList(
            nn.ConvTranspose2d(
                num_classes, num_classes, 4, stride=2, padding=1, bias=False)
            for _ in in_channels[:-1])

    def init_weights(self):
        super().init_weights()
        for score in self.skip_scores:
            nn.init.zeros_(score.weight)
            nn.init.zeros_(score.bias)
        for up in self.upsamples:
            init_bilinear_(up)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Fuse the scores of all inputs at the finest input's resolution."""
        feats = self._transform_inputs(inputs)
        score = self.cls_seg(feats[-1])
        for feat, skip_score, upsample in zip(
                reversed(feats[:-1]), reversed(self.skip_scores),
                reversed(self.upsamples)):
            skip = skip_score(feat)
            score = crop_like(upsample(score), skip) + skip
        return score
