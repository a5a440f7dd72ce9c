"""Max-unpooling with pooling switches, shared by SegNet and DeconvNet."""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from .switches import Switch, get_switches

SWITCH_SOURCES = ('backbone', 'features')

#: how many :func:`native_unpool` contexts are open; a plain global, which
#: ``torch.compile`` reads and guards on (a ContextVar breaks its graph)
_native_unpool_depth = 0


def check_switch_source(source: str) -> None:
    """Raise a one-line error unless ``source`` is in
    :data:`SWITCH_SOURCES`."""
    if source not in SWITCH_SOURCES:
        raise ValueError(f'`switch_source` must be one of {SWITCH_SOURCES}, '
                         f'got {source!r}')


def max_unpool2d(x: Tensor, indices: Tensor,
                 output_size: Sequence[int]) -> Tensor:
    """Place each value at its max-pooling argmax in a zero map.

    Computes what :func:`torch.nn.functional.max_unpool2d` computes, as a
    ``scatter`` into a zero tensor of the output size. Unlike
    ``max_unpool2d`` this exports to ONNX (``ScatterElements``, opset 11),
    so the unpooling models use it for training and inference alike; within
    :func:`native_unpool` (the fast inference path) it is ATen's
    ``max_unpool2d``, the same values twice as fast on large maps, and
    channels_last in, channels_last out.

    Args:
        x (Tensor): Pooled values, shape (N, C, h, w).
        indices (Tensor): Argmax indices from
            ``max_pool2d(..., return_indices=True)``, flat over each
            (H, W) plane, same shape as ``x``.
        output_size (Sequence[int]): (H, W), the size before pooling.

    Returns:
        Tensor: Shape (N, C, H, W), zero except at the switches. Where
        overlapping windows picked the same location, one of the values is
        kept, as in ``max_unpool2d``.
    """
    if indices.shape != x.shape:
        raise ValueError('unpooling needs switches of the input\'s shape, got '
                         f'{tuple(indices.shape)} for {tuple(x.shape)}')
    n, c = x.shape[:2]
    height, width = output_size[-2:]
    if _native_unpool_depth:
        return torch.ops.aten.max_unpool2d(x, indices, [height, width])
    out = x.new_zeros(n, c, height * width)
    out = out.scatter(2, indices.flatten(2), x.flatten(2))
    return out.view(n, c, height, width)


@contextmanager
def native_unpool() -> Iterator[None]:
    """Within the context, :func:`max_unpool2d` runs ATen's kernel.

    The switch is process-wide while the context is open (as
    ``torch.backends`` flags are), not per thread.
    """
    global _native_unpool_depth
    _native_unpool_depth += 1
    try:
        yield
    finally:
        _native_unpool_depth -= 1


class UnpoolBlock(nn.Module):
    """One decoder stage: max-unpooling, then conv (or deconv) blocks.

    The stage of SegNet's and DeconvNet's decoders: the input is unpooled
    with the switches of the matching encoder pooling (skipped where the
    stage has none) to the encoder's pre-pool size, so odd sizes and
    ceil-mode pooling come back exactly; then ``num_convs`` conv-norm-act
    blocks, the last of which changes the width to ``out_channels``.
    Deconvolutions (DeconvNet) are chosen by ``conv_cfg=dict(type='deconv')``;
    the padding ``dilation * (kernel_size - 1) // 2`` keeps the size for odd
    kernels with either.

    Args:
        in_channels (int): Channels of the input (and of the switches).
        out_channels (int): Channels of the output.
        num_convs (int): Number of conv blocks, at least 1.
        kernel_size (int): Odd kernel size of the convs. Default: 3.
        dilation (int): Dilation of the convs. Default: 1.
        conv_cfg (dict, optional): Conv layer config; ``dict(type='deconv')``
            for transposed convolutions. Default: None (``nn.Conv2d``).
        norm_cfg (dict, optional): Norm layer config. Default: BN.
        act_cfg (dict, optional): Activation config. Default: ReLU.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_convs: int,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        if num_convs < 1:
            raise ValueError(f'`num_convs` must be >= 1, got {num_convs}')
        if kernel_size % 2 == 0:
            raise ValueError('`kernel_size` must be odd to keep the size, '
                             f'got {kernel_size}')
        widths = [in_channels] * num_convs + [out_channels]
        self.convs = nn.Sequential(*(ConvModule(
            widths[i],
            widths[i + 1],
            kernel_size,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg) for i in range(num_convs)))

    def forward(self, x: Tensor, switch: Switch = None) -> Tensor:
        """Unpool ``x`` with ``switch`` = (indices, pre-pool size), if any,
        then apply the convs."""
        if switch is not None:
            indices, size = switch
            x = max_unpool2d(x, indices, size)
        return self.convs(x)


def pool_switches(feat: Tensor) -> Switch:
    """Switches of a 2x2, stride-2, ceil-mode max-pooling of ``feat``."""
    _, indices = F.max_pool2d(
        feat.detach(), 2, stride=2, ceil_mode=True, return_indices=True)
    return indices, feat.shape[-2:]


def collect_switches(inputs: Sequence[Tensor], feats: Sequence[Tensor],
                     in_index: Sequence[int], source: str) -> List[Switch]:
    """The switches of each decoder stage, one per selected input.

    Args:
        inputs (Sequence[Tensor]): The backbone's outputs as handed to the
            head (a :class:`FeaturesWithSwitches` for ``'backbone'``).
        feats (Sequence[Tensor]): The head's selected inputs, shallow to
            deep (``inputs[i] for i in in_index``).
        in_index (Sequence[int]): Which backbone outputs ``feats`` are.
        source (str): ``'backbone'``: backbone output ``k`` (stage ``k``'s
            pooled map) unpools with the backbone's switches of pooling
            ``k``; outputs past the poolings (fc7) get none.
            ``'features'``: for backbones that downsample by strided convs
            (ResNet), stage ``i`` unpools to the grid of ``feats[i]`` with the
            switches of a 2x2 ceil-mode max-pooling of ``feats[i]``; the
            deepest stage gets none.

    Returns:
        list[Switch]: One entry per stage, shallow to deep.
    """
    check_switch_source(source)
    if source == 'backbone':
        switches = get_switches(inputs)
        out = [switches[k] if k < len(switches) else None for k in in_index]
        for i, (feat, switch) in enumerate(zip(feats, out)):
            if switch is not None and switch[0].shape != feat.shape:
                raise ValueError(
                    f'input {i} (backbone output {in_index[i]}) is '
                    f'{tuple(feat.shape)} but pooling {in_index[i]} gave '
                    f'switches of {tuple(switch[0].shape)}; with '
                    "switch_source='backbone' backbone output k must be the "
                    'output of pooling stage k (VGG out_indices=(0, 1, ...))')
        return out
    out = [pool_switches(feat) for feat in feats[:-1]] + [None]
    for i in range(len(feats) - 1):
        if out[i][0].shape[-2:] != feats[i + 1].shape[-2:]:
            raise ValueError(
                "switch_source='features' needs each input at half the "
                f'size of the previous one (ceil), got '
                f'{tuple(feats[i].shape[-2:])} then '
                f'{tuple(feats[i + 1].shape[-2:])}')
    return out
