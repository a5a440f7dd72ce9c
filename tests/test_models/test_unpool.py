"""The shared max-unpooling function and stage module."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg_ext.models.backbones import VGG
from mmseg_ext.models.utils import (FeaturesWithSwitches, UnpoolBlock,
                                    collect_switches, max_unpool2d,
                                    pool_switches)


def _pool(x, kernel=2, stride=2, padding=0, ceil_mode=True):
    return F.max_pool2d(
        x, kernel, stride, padding, ceil_mode=ceil_mode, return_indices=True)


# yapf: disable
def test_exact_values_hand_made():
    x = torch.tensor([[1., 2., 0., 3.],
                      [4., 0., 1., 1.],
                      [0., 5., 2., 2.],
                      [1., 1., 0., 6.]]).view(1, 1, 4, 4)
    pooled, indices = _pool(x)
    assert indices.flatten().tolist() == [4, 3, 9, 15]
    expected = torch.tensor([[0., 0., 0., 3.],
                             [4., 0., 0., 0.],
                             [0., 5., 0., 0.],
                             [0., 0., 0., 6.]]).view(1, 1, 4, 4)
    assert torch.equal(max_unpool2d(pooled, indices, (4, 4)), expected)
    # the decoder unpools other values than the pooled ones
    values = torch.tensor([[-1., 7.], [0.5, 2.]]).view(1, 1, 2, 2)
    expected = torch.tensor([[0., 0., 0., 7.],
                             [-1., 0., 0., 0.],
                             [0., .5, 0., 0.],
                             [0., 0., 0., 2.]]).view(1, 1, 4, 4)
    assert torch.equal(max_unpool2d(values, indices, (4, 4)), expected)


def test_exact_values_ceil_mode_odd_size():
    # 3x5 pooled 2x2 in ceil mode: 2x3, the last row/column windows are
    # partial and their switches point into the border pixels
    x = torch.tensor([[1., 0., 0., 2., 9.],
                      [0., 3., 4., 0., 0.],
                      [5., 0., 0., 6., 8.]]).view(1, 1, 3, 5)
    pooled, indices = _pool(x)
    assert pooled.shape[-2:] == (2, 3)
    assert indices.flatten().tolist() == [6, 7, 4, 10, 13, 14]
    out = max_unpool2d(pooled * 10, indices, x.shape[-2:])
    expected = torch.tensor([[0., 0., 0., 0., 90.],
                             [0., 30., 40., 0., 0.],
                             [50., 0., 0., 60., 80.]]).view(1, 1, 3, 5)
    assert torch.equal(out, expected)
# yapf: enable


@pytest.mark.parametrize('shape,kernel,stride,padding,ceil_mode', [
    ((1, 1, 4, 4), 2, 2, 0, False),
    ((2, 3, 97, 123), 2, 2, 0, True),
    ((3, 5, 23, 23), 2, 2, 0, True),
    ((2, 4, 24, 17), 2, 2, 0, False),
    ((2, 3, 15, 22), 3, 2, 1, True),
    ((1, 2, 9, 11), 3, 3, 0, True),
])
def test_equals_max_unpool2d(shape, kernel, stride, padding, ceil_mode):
    torch.manual_seed(0)
    x = torch.randn(shape)
    pooled, indices = _pool(x, kernel, stride, padding, ceil_mode)
    for values in (pooled, torch.randn_like(pooled)):
        if kernel > stride and values is not pooled:
            continue  # overlapping windows: duplicate switches, any wins
        ours = max_unpool2d(values, indices, x.shape[-2:])
        ref = F.max_unpool2d(
            values, indices, kernel, stride, padding, output_size=x.shape[-2:])
        assert ours.shape == x.shape
        assert torch.equal(ours, ref)


def test_batch_matches_single_samples():
    torch.manual_seed(1)
    x = torch.randn(4, 3, 13, 21)
    pooled, indices = _pool(x)
    values = torch.randn_like(pooled)
    batched = max_unpool2d(values, indices, x.shape[-2:])
    for i in range(4):
        single = max_unpool2d(values[i:i + 1], indices[i:i + 1], x.shape[-2:])
        assert torch.equal(batched[i:i + 1], single)
    # no sample or channel leaks into another one
    assert torch.equal(batched[0],
                       max_unpool2d(values[:1], indices[:1], x.shape[-2:])[0])
    assert (batched != 0).sum() == (values != 0).sum()


def test_gradcheck_double():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    _, indices = _pool(x)
    values = torch.randn(
        indices.shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: max_unpool2d(v, indices, (7, 9)),
                                    (values, ))
    assert torch.autograd.gradgradcheck(
        lambda v: max_unpool2d(v, indices, (7, 9)), (values, ))


def test_shape_mismatch_raises():
    x = torch.randn(1, 2, 6, 6)
    _, indices = _pool(x)
    with pytest.raises(ValueError, match='switches'):
        max_unpool2d(torch.randn(1, 3, 3, 3), indices, (6, 6))


def _identity_block(conv_cfg, kernel_size=3, dilation=1):
    block = UnpoolBlock(
        2,
        2,
        1,
        kernel_size,
        dilation=dilation,
        conv_cfg=conv_cfg,
        norm_cfg=None,
        act_cfg=None)
    conv = block.convs[0].conv
    with torch.no_grad():
        conv.weight.zero_()
        for c in range(2):
            conv.weight[c, c, kernel_size // 2, kernel_size // 2] = 1
        conv.bias.zero_()
    return block


@pytest.mark.parametrize('conv_cfg', [None, dict(type='deconv')])
@pytest.mark.parametrize('kernel_size,dilation', [(3, 1), (7, 1), (3, 2)])
def test_block_unpools_then_convolves(conv_cfg, kernel_size, dilation):
    torch.manual_seed(3)
    x = torch.randn(2, 2, 11, 14)
    pooled, indices = _pool(x)
    block = _identity_block(conv_cfg, kernel_size, dilation)
    if conv_cfg is not None:
        assert isinstance(block.convs[0].conv, nn.ConvTranspose2d)
    out = block(pooled, (indices, x.shape[-2:]))
    # a centred unit kernel makes the block a plain unpooling
    assert torch.allclose(
        out, F.max_unpool2d(pooled, indices, 2, 2, output_size=(11, 14)))
    # without switches (a stage without pooling) it only convolves
    assert torch.allclose(block(x), x)


def test_block_widths_and_grad():
    block = UnpoolBlock(6, 4, 3, norm_cfg=dict(type='BN'))
    assert [m.conv.out_channels for m in block.convs] == [6, 6, 4]
    x = torch.randn(2, 6, 23, 23)
    pooled, indices = _pool(x)
    pooled.requires_grad_()
    out = block(pooled, (indices, x.shape[-2:]))
    assert out.shape == (2, 4, 23, 23)
    out.sum().backward()
    assert pooled.grad is not None
    assert all(p.grad is not None for p in block.parameters())


def test_block_bad_args():
    with pytest.raises(ValueError, match='num_convs'):
        UnpoolBlock(4, 4, 0)
    with pytest.raises(ValueError, match='kernel_size'):
        UnpoolBlock(4, 4, 1, kernel_size=4)


def test_collect_switches_backbone():
    vgg = VGG(
        16,
        stage_channels=(4, 8, 8, 16, 16),
        with_fc=True,
        fc_channels=12,
        return_switches=True,
        out_indices=(0, 1, 2, 3, 4, 5)).eval()
    inputs = vgg(torch.randn(1, 3, 97, 123))
    assert isinstance(inputs, FeaturesWithSwitches)
    feats = list(inputs)
    switches = collect_switches(inputs, feats, range(6), 'backbone')
    assert switches[-1] is None
    for feat, (indices, size), prev in zip(feats[:5], switches[:5],
                                           [(97, 123)] + feats):
        assert indices.shape == feat.shape
        assert tuple(size) == tuple(getattr(prev, 'shape', prev)[-2:])
    with pytest.raises(ValueError, match='return_switches'):
        collect_switches(tuple(feats), feats, range(6), 'backbone')
    with pytest.raises(ValueError, match='pooling stage k'):
        collect_switches(inputs, feats[1:], range(5), 'backbone')
    with pytest.raises(ValueError, match='switch_source'):
        collect_switches(inputs, feats, range(6), 'stem')


def test_collect_switches_features():
    torch.manual_seed(4)
    feats = [torch.randn(2, c, s, s) for c, s in ((3, 25), (5, 13), (7, 7))]
    switches = collect_switches(feats, feats, range(3), 'features')
    assert switches[-1] is None
    for i in range(2):
        indices, size = switches[i]
        assert tuple(size) == feats[i].shape[-2:]
        assert indices.shape == (2, feats[i].shape[1]) + (
            feats[i + 1].shape[-2:])
        assert torch.equal(indices, _pool(feats[i])[1])
    assert torch.equal(pool_switches(feats[0])[0], switches[0][0])
    dilated = [feats[0], torch.randn(2, 5, 25, 25)]
    with pytest.raises(ValueError, match='half the size'):
        collect_switches(dilated, dilated, range(2), 'features')
