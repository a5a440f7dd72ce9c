"""SegNetHead on VGG (backbone switches) and ResNet (feature switches)."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.models.backbones import ResNetV1c
from mmseg.structures import SegDataSample

from mmseg_ext.models.backbones import VGG
from mmseg_ext.models.decode_heads import SegNetHead
from mmseg_ext.models.utils import FeaturesWithSwitches
from ..conftest import CAMVID_WEIGHTS, REPO

WIDTHS = (4, 8, 8, 16, 16)


def _vgg(**kwargs):
    return VGG(
        16,
        stage_channels=WIDTHS,
        norm_cfg=dict(type='BN'),
        return_switches=True,
        out_indices=(0, 1, 2, 3, 4),
        **kwargs)


def _head(**kwargs):
    cfg = dict(
        in_channels=list(_vgg().out_channels),
        in_index=[0, 1, 2, 3, 4],
        channels=6,
        num_classes=5,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return SegNetHead(**cfg)


def _samples(n, h, w, num_classes=5):
    samples = []
    for _ in range(n):
        sample = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, h, w))))
        sample.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


@pytest.mark.parametrize('shape', [(1, 3, 97, 123), (2, 3, 23, 45),
                                   (1, 3, 32, 32)])
def test_full_resolution_on_odd_sizes(shape):
    backbone, head = _vgg().eval(), _head().eval()
    with torch.no_grad():
        out = head(backbone(torch.randn(shape)))
    assert out.shape == (shape[0], 5) + shape[2:]
    convs = [m.conv for stage in head.stages for m in stage.convs]
    # 12 conv-BN-ReLU blocks mirror VGG16's 13 convs with the 3x3 score
    assert len(convs) == 12
    assert head.conv_seg.kernel_size == (3, 3)
    assert [stage.convs[-1].conv.out_channels
            for stage in head.stages] == [6, 4, 8, 8, 16]


def test_decoder_places_values_at_switches():
    # with 1x1 linear layers the pool5 features reach a pixel only along a
    # chain of switches, one per stage; every other pixel sees biases only,
    # as it does when pool5 is all zero
    torch.manual_seed(0)
    backbone = _vgg().eval()
    head = _head(
        kernel_size=1, seg_kernel_size=1, norm_cfg=None, act_cfg=None).eval()
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()
        inputs = backbone(torch.randn(2, 3, 29, 37))
        out = head(inputs)
        zero_inputs = FeaturesWithSwitches(
            [torch.zeros_like(f) for f in inputs], inputs.switches)
        biases_only = head(zero_inputs)
    reach = (inputs[-1] != 0).any(1, keepdim=True).float()
    for indices, size in reversed(inputs.switches):
        spread = reach.expand_as(indices).contiguous()
        reach = F.max_unpool2d(spread, indices, 2, output_size=size)
        reach = reach.amax(1, keepdim=True)
    reach = reach[:, 0] > 0
    moved = (out - biases_only).abs().amax(1) > 1e-6
    assert torch.equal(moved, reach)
    assert 0 < reach.float().mean() < 0.5


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


def test_predict_by_feat_resizes():
    backbone, head = _vgg().eval(), _head().eval()
    with torch.no_grad():
        logits = head.predict(
            backbone(torch.randn(1, 3, 37, 51)),
            [dict(img_shape=(37, 51), pad_shape=(37, 51))], dict())
    assert logits.shape == (1, 5, 37, 51)


def test_segnet_basic_like_decoder():
    # SegNet-Basic: 4 stages of 64 channels, 7x7 convs without ReLU, 1x1
    # score; switches from a hand-made 4-stage encoder
    x = torch.randn(1, 4, 45, 61)
    feats, switches = [], []
    for _ in range(4):
        size = x.shape[-2:]
        x, indices = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
        feats.append(x)
        switches.append((indices, size))
    head = SegNetHead(
        in_channels=[4] * 4,
        in_index=[0, 1, 2, 3],
        channels=4,
        num_convs=(1, 1, 1, 1),
        kernel_size=7,
        seg_kernel_size=1,
        num_classes=3,
        norm_cfg=dict(type='BN'),
        act_cfg=None).eval()
    out = head(FeaturesWithSwitches(feats, switches))
    assert out.shape == (1, 3, 45, 61)
    assert all(s.convs[0].conv.kernel_size == (7, 7) for s in head.stages)
    assert not any(s.convs[0].with_activation for s in head.stages)


def test_resnet_feature_switches():
    backbone = ResNetV1c(
        depth=18, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3))
    head = SegNetHead(
        in_channels=[8, 16, 32, 64],
        in_index=[0, 1, 2, 3],
        channels=6,
        num_convs=(1, 1, 1, 1),
        switch_source='features',
        num_classes=5,
        norm_cfg=dict(type='BN'))
    feats = backbone(torch.randn(2, 3, 97, 123))
    out = head(feats)
    assert out.shape == (2, 5) + feats[0].shape[-2:] == (2, 5, 25, 31)
    losses = head.loss(feats, _samples(2, 97, 123), dict())
    losses['loss_ce'].backward()
    for name, p in [*backbone.named_parameters(), *head.named_parameters()]:
        assert p.grad is not None, name
    # the backbone records no switches of its own
    with pytest.raises(ValueError, match='return_switches'):
        SegNetHead(
            in_channels=[8, 16, 32, 64],
            in_index=[0, 1, 2, 3],
            channels=6,
            num_convs=(1, 1, 1, 1),
            num_classes=5)(
                feats)


def test_bad_args():
    with pytest.raises(TypeError, match='in_channels'):
        _head(in_channels=16, in_index=4)
    with pytest.raises(ValueError, match='num_convs'):
        _head(num_convs=(1, 2, 3))
    with pytest.raises(ValueError, match='switch_source'):
        _head(switch_source='stem')
    with pytest.raises(TypeError, match='input_transform'):
        _head(input_transform='resize_concat')
    with pytest.raises(ValueError, match='seg_kernel_size'):
        _head(seg_kernel_size=2)
    with pytest.raises(ValueError, match='kernel_size'):
        _head(kernel_size=4)


def test_camvid_configs_use_median_frequency_weights():
    paths = glob.glob(osp.join(REPO, 'configs', '*', '*camvid*.py'))
    paths = [
        p for p in paths if osp.basename(p).startswith(('segnet', 'deconvnet'))
    ]
    assert paths
    for path in paths:
        loss = Config.fromfile(path).model.decode_head.loss_decode
        if '-cpu30m_' in path:  # the CPU recipes: square-root weights
            assert loss.class_weight == pytest.approx(
                [w**0.5 for w in CAMVID_WEIGHTS], abs=1e-3), path
        else:
            assert tuple(loss.class_weight) == CAMVID_WEIGHTS, path
