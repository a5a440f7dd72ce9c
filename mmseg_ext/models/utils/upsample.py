"""Learned (deconvolution) upsampling and fusion with a finer map."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

FUSIONS = ('concat', 'sum')


def bilinear_kernel(kernel_size: int) -> Tensor:
    """2D bilinear interpolation kernel, as FCN initialises its deconvs.

    For ``kernel_size=2 * f - f % 2`` and ``stride=f`` a transposed
    convolution with this kernel performs bilinear upsampling by ``f``.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float64)
    filt = 1 - (og - center).abs() / factor
    return (filt[:, None] * filt[None, :]).float()


def init_bilinear_(deconv: nn.ConvTranspose2d) -> nn.ConvTranspose2d:
    """Initialise a channel-preserving deconv to bilinear upsampling.

    Each output channel interpolates its own input channel only (a diagonal
    weight); the bias, if any, is zeroed.
    """
    in_ch, out_ch_per_group, kh, kw = deconv.weight.shape
    if kh != kw or in_ch != out_ch_per_group * deconv.groups:
        raise ValueError('bilinear init needs a square kernel and as many '
                         f'output as input channels, got {deconv}')
    # on the weight's device: MMEngine's runner moves the model to the GPU
    # before it calls init_weights
    kernel = bilinear_kernel(kh).to(deconv.weight)
    with torch.no_grad():
        deconv.weight.zero_()
        if deconv.groups == 1:
            idx = torch.arange(in_ch, device=kernel.device)
            deconv.weight[idx, idx] = kernel
        else:
            deconv.weight[:, 0] = kernel
        if deconv.bias is not None:
            deconv.bias.zero_()
    return deconv


def crop_like(x: Tensor, ref: Tensor) -> Tensor:
    """Crop ``x`` at the bottom/right to the spatial size of ``ref``.

    Used after a 2x deconvolution whose input came from ceil-mode pooling (or
    a stride-2 conv), where the result is at most one pixel larger than the
    finer feature map it is fused with. Both are aligned at the top-left.
    """
    h, w = ref.shape[-2:]
    if x.shape[-2] < h or x.shape[-1] < w:
        raise ValueError(f'cannot crop {tuple(x.shape[-2:])} to larger '
                         f'{(h, w)}')
    return x[..., :h, :w]


def crop_or_pad_like(x: Tensor, ref: Tensor) -> Tensor:
    """Crop or zero-pad ``x`` at the bottom/right to the size of ``ref``.

    A 2x upsampling of a ceil-mode pooled map (or of a stride-2 conv's) is
    at most one pixel larger than the finer map and is cropped; of a
    floor-mode pooled map, at most one pixel smaller and is padded. Both are
    aligned at the top-left.
    """
    h, w = ref.shape[-2:]
    x = x[..., :h, :w]
    pad_h, pad_w = h - x.shape[-2], w - x.shape[-1]
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


class UpFusionBlock(nn.Module):
    """One U-Net decoder step: 2x learned upsampling, fusion with a skip,
    then conv blocks.

    The coarse input is first narrowed to ``out_channels`` by a 1x1
    conv-norm (where its width differs; U-Net's up-convolution halves the
    width the same way), then upsampled 2x by a channel-preserving 4x4,
    stride-2 transposed convolution initialised to bilinear interpolation
    as FCN's, and cropped or padded to the skip's size. It is then fused
    with the skip: ``'concat'`` stacks both (U-Net), ``'sum'`` adds them,
    after a 1x1 conv-norm projection of the skip to ``out_channels`` where
    its width differs. ``num_convs`` conv-norm-act blocks of width
    ``out_channels`` follow.

    Args:
        in_channels (int): Channels of the coarse input.
        skip_channels (int): Channels of the skip (the finer map).
        out_channels (int): Channels of the output.
        num_convs (int): Conv blocks after the fusion, at least 1.
        fusion (str): ``'concat'`` or ``'sum'``. Default: ``'concat'``.
        kernel_size (int): Odd kernel size of the convs. Default: 3.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict, optional): Norm layer config. Default: BN.
        act_cfg (dict, optional): Activation config. Default: ReLU.
    """

    def __init__(self,
                 in_channels: int,
                 skip_channels: int,
                 out_channels: int,
                 num_convs: int,
                 fusion: str = 'concat',
                 kernel_size: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f'`fusion` must be one of {FUSIONS}, got '
                             f'{fusion!r}')
        if num_convs < 1:
            raise ValueError(f'`num_convs` must be >= 1, got {num_convs}')
        if kernel_size % 2 == 0:
            raise ValueError('`kernel_size` must be odd to keep the size, '
                             f'got {kernel_size}')
        self.fusion = fusion

        def project(channels):
            if channels == out_channels:
                return nn.Identity()
            return ConvModule(
                channels,
                out_channels,
                1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=None)

        self.reduce = project(in_channels)
        self.upsample = init_bilinear_(
            nn.ConvTranspose2d(
                out_channels, out_channels, 4, stride=2, padding=1,
                bias=False))
        if fusion == 'sum':
            self.skip_proj = project(skip_channels)
            fused = out_channels
        else:
            self.skip_proj = nn.Identity()
            fused = out_channels + skip_channels
        self.convs = nn.Sequential(*(ConvModule(
            fused if i == 0 else out_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg) for i in range(num_convs)))

    def init_weights(self):
        """Bilinear upsampling, also after a parent's ``init_cfg``."""
        init_bilinear_(self.upsample)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """Upsample ``x`` onto ``skip``'s grid, fuse, and convolve."""
        x = crop_or_pad_like(self.upsample(self.reduce(x)), skip)
        skip = self.skip_proj(skip)
        if self.fusion == 'concat':
            return self.convs(torch.cat([x, skip], dim=1))
        return self.convs(x + skip)
