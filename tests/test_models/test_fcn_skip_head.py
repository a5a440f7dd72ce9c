import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.overrides import TorchFunctionMode

from mmseg_ext.models import (FCNSkipHead, bilinear_kernel, crop_like,
                              init_bilinear_)


def _head(in_channels, num_classes=5, **kwargs):
    head = FCNSkipHead(
        in_channels=in_channels,
        in_index=list(range(len(in_channels))),
        num_classes=num_classes,
        **kwargs)
    head.init_weights()
    return head


def test_bilinear_kernel_values():
    k = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(bilinear_kernel(4), k[:, None] * k[None, :])
    k3 = torch.tensor([0.5, 1.0, 0.5])
    torch.testing.assert_close(bilinear_kernel(3), k3[:, None] * k3)


def test_bilinear_init_is_bilinear_upsampling():
    deconv = init_bilinear_(
        torch.nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1, bias=False))
    x = torch.randn(2, 3, 7, 9)
    y = deconv(x)
    ref = F.interpolate(
        x, scale_factor=2, mode='bilinear', align_corners=False)
    assert y.shape == ref.shape == (2, 3, 14, 18)
    # identical away from the one-pixel border (zero padding vs. clamping)
    torch.testing.assert_close(
        y[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=0, atol=1e-6)
    # channels do not mix
    x2 = x.clone()
    x2[:, 1] = 0
    assert torch.equal(deconv(x2)[:, 0], y[:, 0])


def test_init_bilinear_rejects_non_square():
    with pytest.raises(ValueError, match='square'):
        init_bilinear_(torch.nn.ConvTranspose2d(3, 2, 4, stride=2))


def test_crop_like():
    x = torch.arange(20.).view(1, 1, 4, 5)
    assert crop_like(x, torch.zeros(1, 1, 3, 4)).shape[-2:] == (3, 4)
    with pytest.raises(ValueError, match='larger'):
        crop_like(x, torch.zeros(1, 1, 5, 5))


@pytest.mark.parametrize('levels', [1, 2, 3])
def test_fcn_variants_on_odd_sizes(levels):
    """FCN-32s/16s/8s on pool3/pool4/fc7 sizes of a 97x123 input."""
    channels = [6, 8, 10][-levels:]
    sizes = [(13, 16), (7, 8), (4, 4)][-levels:]
    head = _head(channels)
    feats = [torch.randn(2, c, *s) for c, s in zip(channels, sizes)]
    out = head(feats)
    assert out.shape == (2, 5, *sizes[0])
    assert len(head.upsamples) == len(head.skip_scores) == levels - 1


def test_fcn8s_starts_as_fcn32s():
    """Zero-initialised skip scores: at init only fc7's score counts."""
    head8 = _head([6, 8, 10]).eval()
    feats = [
        torch.randn(1, 6, 13, 16),
        torch.randn(1, 8, 7, 8),
        torch.randn(1, 10, 4, 4)
    ]
    out = head8(feats)
    coarse = head8.conv_seg(feats[-1])
    up = F.conv_transpose2d(
        coarse, head8.upsamples[1].weight, stride=2, padding=1)[..., :7, :8]
    up = F.conv_transpose2d(
        up, head8.upsamples[0].weight, stride=2, padding=1)[..., :13, :16]
    torch.testing.assert_close(out, up)


def test_fcn_head_loss_and_gradients():
    head = _head([6, 8, 10], num_classes=4)
    # a non-zero step for the zero-initialised skip layers
    for score in head.skip_scores:
        torch.nn.init.normal_(score.weight, std=0.1)
    feats = [
        torch.randn(2, 6, 13, 16, requires_grad=True),
        torch.randn(2, 8, 7, 8),
        torch.randn(2, 10, 4, 4)
    ]
    samples = []
    for _ in range(2):
        label = torch.randint(0, 4, (1, 97, 123))
        label[:, :5] = 255
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(97, 123), pad_shape=(97, 123)))
        samples.append(sample)
    losses = head.loss(feats, samples, dict())
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert feats[0].grad.abs().sum() > 0


def test_fcn_head_bad_arguments():
    with pytest.raises(TypeError, match='channels'):
        FCNSkipHead(in_channels=[4, 8], channels=8, num_classes=3)
    with pytest.raises(TypeError, match='list of'):
        FCNSkipHead(in_channels=8, num_classes=3)


class _SameDevice(TorchFunctionMode):
    """Refuses to write tensors of another device into a tensor, as CUDA
    does (CPU and 'meta' tensors mix silently)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.Tensor.__setitem__:
            target, index, value = args
            devices = {
                t.device
                for t in (target, value,
                          *(index if isinstance(index, tuple) else (index, )))
                if isinstance(t, torch.Tensor)
            }
            assert len(devices) == 1, f'__setitem__ across {devices}'
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('groups', [1, 4])
def test_init_bilinear_on_the_weights_device(groups):
    """MMEngine's runner moves the model to the GPU before init_weights:
    the kernel is built on the weight's device."""
    deconv = torch.nn.ConvTranspose2d(
        4, 4, 4, stride=2, groups=groups, device='meta')
    with _SameDevice():
        assert init_bilinear_(deconv).weight.device.type == 'meta'
