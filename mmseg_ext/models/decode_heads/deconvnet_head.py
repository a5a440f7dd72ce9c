from typing import List, Sequence

from mmseg.registry import MODELS
from torch import Tensor

from ..utils import Switch
from .mirror_decode_head import UnpoolDecodeHead


@MODELS.register_module()
class DeconvNetHead(UnpoolDecodeHead):
    """Deconvolution network: unpooling + deconvolution layers.

    Learning Deconvolution Network for Semantic Segmentation (Noh, Hong &
    Han, ICCV 2015).

    The inputs are, shallow to deep, the outputs of the encoder's pooling
    stages and last the fc7 map (VGG16 outputs 0-5 with ``with_fc=True``);
    ``in_channels`` are their widths. The deepest stage deconvolves fc7 back
    to ``in_channels[-2]`` channels with a ``fc_kernel_size`` (7x7)
    deconvolution (the paper's ``fc6-deconv``). The backbone's fc6 uses same
    padding, so fc7 already lies on the pool5 grid, and this deconvolution
    uses padding 3 to stay on it (the paper's unpadded 7x7 fc6 makes a 1x1
    map on 224x224 inputs that its unpadded deconvolution grows back to
    7x7). Each shallower stage ``i`` unpools with the switches of pooling
    ``i`` to its pre-pool size and applies ``num_convs[i]`` 3x3
    deconvolution-BN-ReLU blocks, the last narrowing to ``in_channels[i-1]``
    (``channels`` for stage 0), mirroring VGG16; ``conv_seg`` scores with a
    1x1 conv. Layers are transposed convolutions through the default
    ``conv_cfg=dict(type='deconv')``.

    ``switch_source='features'`` puts the head on encoders without
    switches (ResNet C2-C5): stage ``i`` unpools onto the grid of input
    ``i`` with the per-channel switches of a 2x2, stride-2, ceil-mode
    max-pooling of that input, and the first stage deconvolves the deepest
    input; see :class:`SegNetHead`.

    Args:
        in_channels (Sequence[int]): Widths of the inputs, shallow to deep.
        num_convs (Sequence[int]): Deconvolution blocks of each stage,
            shallow to deep; the last entry is the deepest stage's (fc6-
            deconv). Default: (2, 2, 3, 3, 3, 1), DeconvNet's VGG16.
        kernel_size (int): Kernel of the unpooling stages' deconvolutions.
            Default: 3.
        fc_kernel_size (int): Kernel of the deepest stage's
            deconvolutions. Default: 7.
        switch_source (str): ``'backbone'`` or ``'features'``. Default:
            ``'backbone'``.
        **kwargs: Passed to :class:`BaseDecodeHead`; ``input_transform`` is
            ``'multiple_select'`` and is not given; ``conv_cfg`` defaults to
            ``dict(type='deconv')``.
    """

    min_inputs = 2

    def __init__(self,
                 in_channels: Sequence[int],
                 num_convs: Sequence[int] = (2, 2, 3, 3, 3, 1),
                 kernel_size: int = 3,
                 fc_kernel_size: int = 7,
                 switch_source: str = 'backbone',
                 **kwargs):
        kwargs.setdefault('conv_cfg', dict(type='deconv'))
        super().__init__(in_channels, num_convs, switch_source, **kwargs)
        self.stages = self._unpool_stages([kernel_size] *
                                          (len(in_channels) - 1) +
                                          [fc_kernel_size])

    def side_inputs(self, inputs: Sequence[Tensor],
                    feats: List[Tensor]) -> List[Switch]:
        """The switches; the deepest input (fc7) must have none."""
        switches = super().side_inputs(inputs, feats)
        if switches[-1] is not None:
            raise ValueError(
                'DeconvNetHead deconvolves its deepest input (fc7) without '
                'unpooling; give the backbone output after the last pooling '
                'stage as the last input (VGG out_indices ending in 5)')
        return switches
