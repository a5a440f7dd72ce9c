from typing import List

from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """DeepLab-v1 LargeFOV classifier on a backbone without fc layers.

    Semantic Image Segmentation with Deep Convolutional Nets and Fully
    Connected CRFs (Chen et al., ICLR 2015).

    LargeFOV scores an output-stride-8 feature map with ``fc6`` (3x3,
    dilation 12, 1024 channels), ``fc7`` (1x1, 1024) and a 1x1 score layer,
    with dropout after fc6 and fc7. On VGG16, fc6/fc7 are part of the
    :class:`~mmseg_ext.models.VGG` backbone (``with_fc=True,
    fc_channels=1024, fc6_kernel=3, fc6_dilation=12``) so that ImageNet
    weights load into them, and the head is mmseg's own
    ``FCNHead(num_convs=0, concat_input=False)``, i.e. only the score
    layer. This head adds fc6/fc7 for backbones that have none (a dilated
    ResNet), where mmseg's ``FCNHead`` cannot express the 3x3-then-1x1
    pair: its convs share one kernel size and dilation. Bilinear upsampling
    to the label size is the base class's resize.

    Args:
        kernel_size (int): Kernel of fc6 (odd). Default: 3.
        dilation (int): Dilation of fc6. Default: 12.
        **kwargs: Passed to :class:`BaseDecodeHead`: ``channels`` is the
            width of fc6/fc7 (1024 in the paper) and ``dropout_ratio``
            applies after fc6 and, as usual, before the score layer
            (0.5 in the paper).
    """

    def __init__(self, kernel_size: int = 3, dilation: int = 12, **kwargs):
        if not isinstance(kernel_size, int) or kernel_size < 1 or \
                kernel_size % 2 == 0:
            raise ValueError('LargeFOVHead `kernel_size` must be an odd '
                             f'positive int, got {kernel_size!r}')
        if not isinstance(dilation, int) or dilation < 1:
            raise ValueError('LargeFOVHead `dilation` must be a positive '
                             f'int, got {dilation!r}')
        super().__init__(**kwargs)
        self.fc6 = ConvModule(
            self.in_channels,
            self.channels,
            kernel_size,
            padding=dilation * (kernel_size // 2),
            dilation=dilation,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.fc7 = ConvModule(
            self.channels,
            self.channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """fc6, dropout, fc7, then dropout and score in ``cls_seg``."""
        x = self.fc6(self._transform_inputs(inputs))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.cls_seg(self.fc7(x))
