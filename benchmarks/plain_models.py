"""The benchmarked models written in plain PyTorch, as references.

Each class is one of the package's VGG16 models written straight from its
paper with ``torch.nn`` only (no mmseg, mmcv or mmseg_ext), the way one
would write it without the package: the same layers, in the same order, so
that ``benchmarks/speed.py`` can copy a built model's weights in, check that
both give the same logits, and time the two side by side. Where the
package deliberately departs from a paper's Caffe release (same-padded
fc6, top-left crops instead of FCN's 100-pixel padding, no biases in convs
followed by BatchNorm in the decoders) the references follow the package,
since the point is to time the same computation.

``forward`` returns the logits at the network's output resolution (the
segmentor's ``mode='tensor'``); :func:`segment` and :func:`train_step` are
the plain inference and training loops that are timed.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

VGG16_CONVS = (2, 2, 3, 3, 3)
VGG16_WIDTHS = (64, 128, 256, 512, 512)


def conv_block(in_ch: int,
               out_ch: int,
               kernel: int = 3,
               dilation: int = 1,
               bn: bool = False,
               bias: bool = True,
               transposed: bool = False) -> List[nn.Module]:
    """Conv (or stride-1 deconv), optional BatchNorm, ReLU; size kept."""
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    layers = [
        conv(
            in_ch,
            out_ch,
            kernel,
            padding=dilation * (kernel - 1) // 2,
            dilation=dilation,
            bias=bias)
    ]
    if bn:
        layers.append(nn.BatchNorm2d(out_ch))
    return layers + [nn.ReLU(inplace=True)]


def vgg_stages(widths: Sequence[int],
               bn: bool = False,
               dilations: Sequence[int] = (1, ) * 5) -> nn.ModuleList:
    """VGG16's five conv stages (2, 2, 3, 3, 3 convs), without pooling."""
    stages, in_ch = [], 3
    for num, width, dilation in zip(VGG16_CONVS, widths, dilations):
        layers = []
        for _ in range(num):
            layers += conv_block(in_ch, width, 3, dilation, bn)
            in_ch = width
        stages.append(nn.Sequential(*layers))
    return nn.ModuleList(stages)


class FCN8s(nn.Module):
    """FCN-8s (Long et al., CVPR 2015) on VGG16.

    pool3, pool4 and fc7 are scored by 1x1 convs; the fc7 score is
    upsampled 2x by a deconvolution, cropped to pool4's score and summed,
    and that again to pool3's. Output stride 8.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 fc_channels: int = 4096,
                 dropout: float = 0.5):
        super().__init__()
        self.stages = vgg_stages(widths)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.fc6 = nn.Conv2d(widths[4], fc_channels, 7, padding=3)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.drop = nn.Dropout(dropout)
        self.score_fr = nn.Conv2d(fc_channels, num_classes, 1)
        self.score_pool4 = nn.Conv2d(widths[3], num_classes, 1)
        self.score_pool3 = nn.Conv2d(widths[2], num_classes, 1)
        self.upscore2 = nn.ConvTranspose2d(
            num_classes, num_classes, 4, 2, 1, bias=False)
        self.upscore_pool4 = nn.ConvTranspose2d(
            num_classes, num_classes, 4, 2, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pools = []
        for stage in self.stages:
            x = self.pool(stage(x))
            pools.append(x)
        x = self.drop(F.relu(self.fc6(x), inplace=True))
        x = self.drop(F.relu(self.fc7(x), inplace=True))
        score = self.score_fr(x)
        for pool, score_pool, up in ((pools[3], self.score_pool4,
                                      self.upscore2),
                                     (pools[2], self.score_pool3,
                                      self.upscore_pool4)):
            skip = score_pool(pool)
            h, w = skip.shape[-2:]
            score = up(score)[..., :h, :w] + skip
        return score


class SegNet(nn.Module):
    """SegNet (Badrinarayanan et al., TPAMI 2017) on VGG16-BN.

    The decoder unpools with the encoder's max-pooling indices and applies
    13 conv-BN-ReLU layers mirroring the encoder; a 3x3 conv scores.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 decoder_convs: Sequence[int] = (1, 2, 3, 3, 3),
                 channels: int = 64):
        super().__init__()
        self.stages = vgg_stages(widths, bn=True)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True)
        outs = [channels] + list(widths[:-1])
        self.decoder = nn.ModuleList(
            nn.Sequential(*unpool_convs(w, o, n, 3))
            for w, o, n in zip(widths, outs, decoder_convs))
        self.classifier = nn.Conv2d(channels, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, switches = encode_with_switches(self.stages, self.pool, x)
        return self.classifier(unpool_decode(self.decoder, x, switches))


def encode_with_switches(stages: nn.ModuleList, pool: nn.MaxPool2d,
                         x: torch.Tensor):
    """The VGG stages, each followed by ``pool``; returns the last pooled
    map and each pooling's (indices, pre-pool size)."""
    switches = []
    for stage in stages:
        x = stage(x)
        size = x.shape[-2:]
        x, indices = pool(x)
        switches.append((indices, size))
    return x, switches


def unpool_decode(decoder: nn.ModuleList, x: torch.Tensor,
                  switches: list) -> torch.Tensor:
    """Deep to shallow: unpool with each pooling's switches, then its
    decoder stage."""
    for decode, (indices, size) in zip(reversed(decoder), reversed(switches)):
        x = decode(F.max_unpool2d(x, indices, 2, 2, output_size=size))
    return x


def unpool_convs(in_ch: int,
                 out_ch: int,
                 num: int,
                 kernel: int,
                 transposed: bool = False) -> List[nn.Module]:
    """A decoder stage's conv-BN-ReLU layers; the last changes the width."""
    widths = [in_ch] * num + [out_ch]
    layers = []
    for i in range(num):
        layers += conv_block(
            widths[i],
            widths[i + 1],
            kernel,
            bn=True,
            bias=False,
            transposed=transposed)
    return layers


class DeconvNet(nn.Module):
    """DeconvNet (Noh et al., ICCV 2015) on VGG16-BN with fc6/fc7.

    fc6 (7x7) and fc7 (1x1) with BatchNorm; the decoder deconvolves fc7
    back to 512 channels (7x7), then unpools with each pooling's indices
    and applies 3x3 deconv-BN-ReLU layers mirroring the encoder; a 1x1 conv
    scores.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 fc_channels: int = 4096,
                 decoder_convs: Sequence[int] = (2, 2, 3, 3, 3),
                 channels: int = 64):
        super().__init__()
        self.stages = vgg_stages(widths, bn=True)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True, return_indices=True)
        self.fc = nn.Sequential(
            *conv_block(widths[4], fc_channels, 7, bn=True),
            *conv_block(fc_channels, fc_channels, 1, bn=True))
        self.fc_deconv = nn.Sequential(
            *unpool_convs(fc_channels, widths[4], 1, 7, transposed=True))
        outs = [channels] + list(widths[:-1])
        self.decoder = nn.ModuleList(
            nn.Sequential(*unpool_convs(w, o, n, 3, transposed=True))
            for w, o, n in zip(widths, outs, decoder_convs))
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, switches = encode_with_switches(self.stages, self.pool, x)
        x = self.fc_deconv(self.fc(x))
        return self.classifier(unpool_decode(self.decoder, x, switches))


class DilatedNet(nn.Module):
    """DilatedNet (Yu & Koltun, ICLR 2016): front-end + basic context.

    VGG16 without pool4/pool5, conv5 dilated 2, fc6 7x7 dilated 4, fc7 1x1,
    a 1x1 score layer, then the context module: seven 3x3 convs of
    ``num_classes`` channels (dilations 1, 1, 2, 4, 8, 16, 1) with ReLU and
    a 1x1 conv. Output stride 8.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 fc_channels: int = 4096,
                 dropout: float = 0.5):
        super().__init__()
        self.stages = vgg_stages(widths, dilations=(1, 1, 1, 1, 2))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.fc6 = nn.Conv2d(widths[4], fc_channels, 7, padding=12, dilation=4)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.drop = nn.Dropout(dropout)
        self.final = nn.Conv2d(fc_channels, num_classes, 1)
        context = []
        for dilation in (1, 1, 2, 4, 8, 16, 1):
            context += conv_block(num_classes, num_classes, 3, dilation)
        self.context = nn.Sequential(*context)
        self.ctx_final = nn.Conv2d(num_classes, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < 3:
                x = self.pool(x)
        x = self.drop(F.relu(self.fc6(x), inplace=True))
        x = self.drop(F.relu(self.fc7(x), inplace=True))
        return self.ctx_final(self.context(self.final(x)))


class LargeFOV(nn.Module):
    """DeepLab-v1 LargeFOV (Chen et al., ICLR 2015) on VGG16.

    3x3 max-poolings (stride 2, 2, 2, 1, 1, pad 1), conv5 dilated 2, a 3x3
    stride-1 average pooling (pool5a), fc6 3x3 dilated 12 and fc7 1x1 of
    ``fc_channels``, a 1x1 score layer. Output stride 8.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 fc_channels: int = 1024,
                 dropout: float = 0.5):
        super().__init__()
        self.stages = vgg_stages(widths, dilations=(1, 1, 1, 1, 2))
        self.pools = nn.ModuleList(
            nn.MaxPool2d(3, stride, padding=1) for stride in (2, 2, 2, 1, 1))
        self.pool5a = nn.AvgPool2d(3, 1, padding=1)
        self.fc6 = nn.Conv2d(
            widths[4], fc_channels, 3, padding=12, dilation=12)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.drop = nn.Dropout(dropout)
        self.fc8 = nn.Conv2d(fc_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage, pool in zip(self.stages, self.pools):
            x = pool(stage(x))
        x = self.pool5a(x)
        x = self.drop(F.relu(self.fc6(x), inplace=True))
        x = self.drop(F.relu(self.fc7(x), inplace=True))
        return self.fc8(x)


class UNet(nn.Module):
    """U-Net (Ronneberger et al., MICCAI 2015) on a VGG16-BN encoder.

    Skips are the five stages before pooling. Each decoder step narrows the
    coarse map with a 1x1 conv-BN where widths differ, upsamples it 2x by a
    4x4 deconvolution, crops it to the skip, concatenates and applies two
    conv-BN-ReLU layers; a 1x1 conv scores at full size.
    """

    def __init__(self,
                 num_classes: int,
                 widths: Sequence[int] = VGG16_WIDTHS,
                 num_convs: int = 2):
        super().__init__()
        self.stages = vgg_stages(widths, bn=True)
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.reduce = nn.ModuleList()
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for coarse, skip in zip(widths[1:], widths[:-1]):
            self.reduce.append(nn.Identity(
            ) if coarse == skip else nn.Sequential(
                nn.Conv2d(coarse, skip, 1, bias=False), nn.BatchNorm2d(skip)))
            self.up.append(nn.ConvTranspose2d(skip, skip, 4, 2, 1, bias=False))
            layers = []
            for i in range(num_convs):
                layers += conv_block(
                    2 * skip if i == 0 else skip, skip, bn=True, bias=False)
            self.decoder.append(nn.Sequential(*layers))
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, stage in enumerate(self.stages):
            if i:
                x = self.pool(x)
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for skip, reduce, up, decode in zip(
                reversed(skips), reversed(self.reduce), reversed(self.up),
                reversed(self.decoder)):
            h, w = skip.shape[-2:]
            x = up(reduce(x))[..., :h, :w]
            x = decode(torch.cat([x, skip], dim=1))
        return self.classifier(x)


def segment(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Labels at input size: forward, bilinear upsampling (where the logits
    are smaller), argmax over the classes."""
    logits = model(inputs)
    if logits.shape[-2:] != inputs.shape[-2:]:
        logits = F.interpolate(
            logits,
            size=inputs.shape[-2:],
            mode='bilinear',
            align_corners=False)
    return logits.argmax(dim=1)


def train_step(model: nn.Module,
               optimizer: torch.optim.Optimizer,
               images: torch.Tensor,
               labels: torch.Tensor,
               mean: torch.Tensor,
               std: torch.Tensor,
               class_weight: Optional[torch.Tensor] = None,
               ignore_index: int = 255) -> torch.Tensor:
    """One SGD step on a uint8 BGR batch: normalisation (to RGB), forward,
    upsampling to the labels, cross-entropy, backward, step.

    The loss is averaged over all pixels, ignored ones counting as zero,
    as mmseg's ``CrossEntropyLoss`` does (``F.cross_entropy``'s own 'mean'
    would divide by the sum of the class weights instead).
    """
    inputs = (images.flip(1).float() - mean) / std
    logits = model(inputs)
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(
            logits,
            size=labels.shape[-2:],
            mode='bilinear',
            align_corners=False)
    loss = F.cross_entropy(
        logits,
        labels,
        weight=class_weight,
        ignore_index=ignore_index,
        reduction='none').mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
