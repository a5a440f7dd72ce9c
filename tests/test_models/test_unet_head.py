"""UNetHead on VGG (pre-pool stages) and ResNet, and its up-fusion block."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.backbones import ResNetV1c
from mmseg.structures import SegDataSample

from mmseg_ext.models.backbones import VGG
from mmseg_ext.models.decode_heads import UNetHead
from mmseg_ext.models.utils import UpFusionBlock, crop_or_pad_like

WIDTHS = (4, 8, 8, 16, 16)


def _vgg(**kwargs):
    return VGG(
        16,
        stage_channels=WIDTHS,
        norm_cfg=dict(type='BN'),
        out_pre_pool=True,
        out_indices=(0, 1, 2, 3, 4),
        **kwargs)


def _head(**kwargs):
    cfg = dict(
        in_channels=list(_vgg().out_channels),
        in_index=[0, 1, 2, 3, 4],
        num_classes=5,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return UNetHead(**cfg)


def _samples(n, h, w, num_classes=5):
    samples = []
    for _ in range(n):
        sample = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, h, w))))
        sample.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


@pytest.mark.parametrize('fusion', ['concat', 'sum'])
@pytest.mark.parametrize('shape', [(1, 3, 97, 123), (2, 3, 23, 45),
                                   (1, 3, 32, 32)])
def test_full_resolution_on_odd_sizes(shape, fusion):
    backbone, head = _vgg().eval(), _head(fusion=fusion).eval()
    with torch.no_grad():
        out = head(backbone(torch.randn(shape)))
    assert out.shape == (shape[0], 5) + shape[2:]


def test_floor_mode_pooling_is_padded():
    # floor-mode pooling makes the 2x upsampling one pixel short: padded
    backbone = _vgg(ceil_mode=False).eval()
    feats = backbone(torch.randn(1, 3, 45, 61))
    assert feats[1].shape[-2:] == (22, 30)
    with torch.no_grad():
        assert _head().eval()(feats).shape == (1, 5, 45, 61)


def test_layers_mirror_the_encoder():
    head = _head()
    assert head.channels == 4
    assert [s.convs[-1].conv.out_channels
            for s in head.stages] == [4, 8, 8, 16]
    assert all(len(s.convs) == 2 for s in head.stages)
    # concat: the first conv sees the upsampled map and the skip
    assert [s.convs[0].conv.in_channels
            for s in head.stages] == [8, 16, 16, 32]
    # the coarse map is narrowed to the stage width where they differ
    reduce = [s.reduce for s in head.stages]
    assert [isinstance(r, nn.Identity)
            for r in reduce] == [False, True, False, True]
    assert reduce[0].conv.kernel_size == (1, 1)
    # sum: skips projected where their width differs from the stage's
    head = _head(decoder_channels=(6, 8, 8, 16), fusion='sum', num_convs=1)
    assert [s.convs[0].conv.in_channels for s in head.stages] == [6, 8, 8, 16]
    assert not isinstance(head.stages[0].skip_proj, nn.Identity)
    assert all(isinstance(s.skip_proj, nn.Identity) for s in head.stages[1:])
    assert head.conv_seg.in_channels == 6


@pytest.mark.parametrize('fusion', ['concat', 'sum'])
def test_every_parameter_gets_a_gradient_and_loss(fusion):
    backbone = _vgg()
    head = _head(decoder_channels=(6, 8, 12, 16), fusion=fusion)
    inputs = backbone(torch.randn(2, 3, 41, 53))
    losses = head.loss(inputs, _samples(2, 41, 53), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    for name, p in [*backbone.named_parameters(), *head.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_upsampling_is_bilinear_after_init_weights():
    head = _head()
    head.init_weights()
    for stage in head.stages:
        up = stage.upsample
        c = up.in_channels
        x = torch.randn(1, c, 9, 11)
        ref = F.interpolate(
            x, scale_factor=2, mode='bilinear', align_corners=False)
        # equal away from the zero-padded border
        torch.testing.assert_close(
            up(x)[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])
        assert up.stride == (2, 2) and up.bias is None


def test_crop_or_pad_like():
    x = torch.arange(12.).view(1, 1, 3, 4)
    assert torch.equal(
        crop_or_pad_like(x, torch.zeros(1, 1, 2, 3)), x[..., :2, :3])
    padded = crop_or_pad_like(x, torch.zeros(1, 1, 4, 3))
    assert padded.shape[-2:] == (4, 3)
    assert torch.equal(padded[..., :3, :], x[..., :3])
    assert not padded[..., 3, :].any()


def test_resnet_c2_c5():
    backbone = ResNetV1c(
        depth=18, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3))
    head = UNetHead(
        in_channels=[8, 16, 32, 64],
        in_index=[0, 1, 2, 3],
        decoder_channels=[8, 8, 16],
        num_classes=5,
        norm_cfg=dict(type='BN'))
    feats = backbone(torch.randn(2, 3, 97, 123))
    assert head(feats).shape == (2, 5, 25, 31)
    head.loss(feats, _samples(2, 97, 123), dict())['loss_ce'].backward()
    for name, p in [*backbone.named_parameters(), *head.named_parameters()]:
        assert p.grad is not None, name


def test_bad_args():
    with pytest.raises(TypeError, match='in_channels'):
        _head(in_channels=[16], in_index=[4])
    with pytest.raises(TypeError, match='channels'):
        _head(channels=4)
    with pytest.raises(TypeError, match='input_transform'):
        _head(input_transform='multiple_select')
    with pytest.raises(ValueError, match='decoder_channels'):
        _head(decoder_channels=(4, 8))
    with pytest.raises(ValueError, match='num_convs'):
        _head(num_convs=(2, 2))
    with pytest.raises(ValueError, match='fusion'):
        _head(fusion='add')
    with pytest.raises(ValueError, match='num_convs'):
        UpFusionBlock(4, 4, 4, 0)
    with pytest.raises(ValueError, match='kernel_size'):
        UpFusionBlock(4, 4, 4, 1, kernel_size=4)
