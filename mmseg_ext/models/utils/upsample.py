"""Helpers for learned (deconvolution) upsampling."""
import torch
import torch.nn as nn
from torch import Tensor


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
    kernel = bilinear_kernel(kh)
    with torch.no_grad():
        deconv.weight.zero_()
        if deconv.groups == 1:
            idx = torch.arange(in_ch)
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
