"""DeconvNetHead on VGG with fc6/fc7 and on ResNet."""
import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models.backbones import ResNetV1c
from mmseg.structures import SegDataSample

from mmseg_ext.models.backbones import VGG
from mmseg_ext.models.decode_heads import DeconvNetHead

WIDTHS = (4, 8, 8, 16, 16)


def _vgg(out_indices=(0, 1, 2, 3, 4, 5)):
    return VGG(
        16,
        stage_channels=WIDTHS,
        norm_cfg=dict(type='BN'),
        return_switches=True,
        with_fc=True,
        fc_channels=12,
        out_indices=out_indices)


def _head(**kwargs):
    cfg = dict(
        in_channels=list(_vgg().out_channels),
        in_index=[0, 1, 2, 3, 4, 5],
        channels=6,
        num_classes=5,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return DeconvNetHead(**cfg)


def _samples(n, h, w, num_classes=5):
    samples = []
    for _ in range(n):
        sample = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, h, w))))
        sample.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


@pytest.mark.parametrize('shape', [(1, 3, 97, 123), (2, 3, 23, 45)])
def test_full_resolution_on_odd_sizes(shape):
    backbone, head = _vgg().eval(), _head().eval()
    with torch.no_grad():
        out = head(backbone(torch.randn(shape)))
    assert out.shape == (shape[0], 5) + shape[2:]


def test_layers_mirror_vgg16():
    head = _head()
    deconvs = [m.conv for stage in head.stages for m in stage.convs]
    assert all(isinstance(d, nn.ConvTranspose2d) for d in deconvs)
    # fc6-deconv: 7x7 with padding 3 keeps fc7 on the pool5 grid
    fc6_deconv = head.stages[-1].convs[0].conv
    assert fc6_deconv.kernel_size == (7, 7) and fc6_deconv.padding == (3, 3)
    assert (fc6_deconv.in_channels, fc6_deconv.out_channels) == (12, 16)
    assert [len(s.convs) for s in head.stages] == [2, 2, 3, 3, 3, 1]
    assert [d.out_channels for d in deconvs
            ] == [4, 6, 8, 4, 8, 8, 8, 16, 16, 8, 16, 16, 16, 16]
    assert head.conv_seg.kernel_size == (1, 1)
    fc7_grid = _vgg().eval()(torch.randn(1, 3, 45, 61))
    assert fc7_grid[5].shape[-2:] == fc7_grid[4].shape[-2:]
    assert _head(
        conv_cfg=None).stages[0].convs[0].conv.__class__ is (nn.Conv2d)


def test_every_parameter_gets_a_gradient_and_loss():
    backbone, head = _vgg(), _head()
    inputs = backbone(torch.randn(2, 3, 41, 53))
    losses = head.loss(inputs, _samples(2, 41, 53), dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    for name, p in backbone.named_parameters():
        assert p.grad is not None, name
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_resnet_feature_switches():
    backbone = ResNetV1c(
        depth=18, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3))
    head = DeconvNetHead(
        in_channels=[8, 16, 32, 64],
        in_index=[0, 1, 2, 3],
        channels=6,
        num_convs=(2, 2, 2, 1),
        fc_kernel_size=3,
        switch_source='features',
        num_classes=5,
        norm_cfg=dict(type='BN'))
    feats = backbone(torch.randn(1, 3, 97, 123))
    assert head(feats).shape == (1, 5, 25, 31)
    head.loss(feats, _samples(1, 97, 123), dict())['loss_ce'].backward()
    for name, p in [*backbone.named_parameters(), *head.named_parameters()]:
        assert p.grad is not None, name


def test_bad_args():
    with pytest.raises(TypeError, match='in_channels'):
        _head(in_channels=[16], in_index=[4])
    with pytest.raises(ValueError, match='num_convs'):
        _head(num_convs=(2, 2, 3, 3, 3))
    with pytest.raises(ValueError, match='switch_source'):
        _head(switch_source='pool')
    with pytest.raises(TypeError, match='input_transform'):
        _head(input_transform='multiple_select')
    with pytest.raises(ValueError, match='kernel_size'):
        _head(fc_kernel_size=6)
    # without fc7 the deepest input has switches: not DeconvNet
    head = _head(
        in_channels=list(_vgg(out_indices=(0, 1, 2, 3, 4)).out_channels),
        in_index=[0, 1, 2, 3, 4],
        num_convs=(2, 2, 3, 3, 3))
    with pytest.raises(ValueError, match='fc7'):
        head(_vgg(out_indices=(0, 1, 2, 3, 4))(torch.randn(1, 3, 32, 32)))
