import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg_ext.models import VGG, FeaturesWithSwitches, convert_vgg


def _tiny(**kwargs):
    kwargs.setdefault('stage_channels', (4, 8, 8, 16, 16))
    return VGG(16, **kwargs)


def test_vgg_outputs_odd_size():
    model = _tiny(
        with_fc=True, fc_channels=12, out_indices=(0, 1, 2, 3, 4, 5)).eval()
    outs = model(torch.randn(1, 3, 97, 123))
    assert isinstance(outs,
                      tuple) and not isinstance(outs, FeaturesWithSwitches)
    # ceil-mode 2x2 pooling: every pixel pooled
    sizes = [(49, 62), (25, 31), (13, 16), (7, 8), (4, 4), (4, 4)]
    assert [tuple(o.shape[-2:]) for o in outs] == sizes
    assert [o.shape[1] for o in outs] == [4, 8, 8, 16, 16, 12]


def test_vgg_pre_pool_outputs():
    model = _tiny(
        with_fc=True,
        fc_channels=12,
        out_pre_pool=True,
        out_indices=(0, 1, 2, 3, 4, 5)).eval()
    x = torch.randn(1, 3, 97, 123)
    outs = model(x)
    # block1_conv2 ... block5_conv3 at strides 1 ... 16, then fc7
    sizes = [(97, 123), (49, 62), (25, 31), (13, 16), (7, 8), (4, 4)]
    assert [tuple(o.shape[-2:]) for o in outs] == sizes
    assert [o.shape[1] for o in outs] == [4, 8, 8, 16, 16, 12]
    # each is the stage's last ReLU output, the pooling's input
    pre = model.features[:model.stage_ends[2]](x)
    torch.testing.assert_close(outs[2], pre)
    # the same weights after pooling give the pooled map
    post = _tiny(out_indices=(2, )).eval()
    post.load_state_dict(model.state_dict(), strict=False)
    torch.testing.assert_close(
        post(x)[0], F.max_pool2d(pre, 2, 2, ceil_mode=True))
    # switches are still recorded, at the pre-pool sizes
    switched = _tiny(
        out_pre_pool=True, return_switches=True, out_indices=(0, 1))
    assert [tuple(s[1]) for s in switched(x).switches] == sizes[:5]
    with pytest.raises(TypeError, match='out_pre_pool'):
        _tiny(out_pre_pool='yes')


def test_vgg_fc_norm_dropout_and_pool5a():
    x = torch.randn(2, 3, 32, 32)
    # DeconvNet's fc6/fc7: conv, BN, ReLU, no dropout
    model = _tiny(
        with_fc=True,
        fc_channels=8,
        fc_norm_cfg=dict(type='BN'),
        fc_dropout=0,
        out_indices=(4, 5)).train()
    assert isinstance(model.fc6_norm, nn.BatchNorm2d)
    assert isinstance(model.fc7_norm, nn.BatchNorm2d)
    pool5, fc7 = model(x)
    h = F.relu(model.fc6_norm(model.fc6(pool5)))
    torch.testing.assert_close(fc7, F.relu(model.fc7_norm(model.fc7(h))))
    # the default keeps the names and weights of before: no norm, dropout
    plain = _tiny(with_fc=True, fc_channels=8, out_indices=(5, ))
    assert plain.dropout.p == 0.5
    assert not any('norm' in k for k in plain.state_dict())
    # pool5a: 3x3 stride-1 average pooling (zeros counted) before fc6
    avg = _tiny(with_fc=True, fc_channels=8, pool5a=True, out_indices=(4, 5))
    pool5, fc7 = avg.eval()(x)
    h = F.relu(avg.fc6(F.avg_pool2d(pool5, 3, 1, 1, count_include_pad=True)))
    torch.testing.assert_close(fc7, F.relu(avg.fc7(h)))
    with pytest.raises(ValueError, match='pool5a'):
        _tiny(pool5a=True)


def test_vgg_docstring_example_shapes():
    model = VGG(16, with_fc=True, fc_channels=64, out_indices=(2, 3, 5)).eval()
    outs = model(torch.rand(1, 3, 97, 123))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 13, 16), (1, 512, 7, 8),
                                              (1, 64, 4, 4)]


def test_vgg_switches():
    model = _tiny(return_switches=True, out_indices=(4, ))
    x = torch.randn(2, 3, 33, 50)
    outs = model(x)
    assert isinstance(outs, FeaturesWithSwitches)
    assert len(outs.switches) == 5
    idx, size = outs.switches[0]
    assert tuple(size) == (33, 50)
    assert idx.shape == (2, 4, 17, 25)
    # the switches point at the maxima of the pre-pool map
    pre = model.features[:model.stage_ends[0]](x)
    flat = pre.flatten(2).gather(2, idx.flatten(2)).view_as(idx)
    pooled = nn.functional.max_pool2d(pre, 2, 2, ceil_mode=True)
    torch.testing.assert_close(flat, pooled)
    # indexing and slicing hand back plain tensors/tuples
    assert isinstance(outs[0], torch.Tensor)
    assert not hasattr(outs[:1], 'switches')


def test_vgg_dilated_front_ends():
    # DilatedNet: pool4/pool5 removed, conv5 dilation 2 -> output stride 8
    dilated = _tiny(
        pool_strides=(2, 2, 2, 0, 0),
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc_channels=8,
        fc6_dilation=4,
        out_indices=(5, ),
        return_switches=True)
    out = dilated(torch.randn(1, 3, 64, 80))
    assert out[0].shape[-2:] == (8, 10)
    assert out.switches[3] is None and out.switches[4] is None
    # DeepLab-LargeFOV: 3x3 pools, pool4/5 stride 1, fc6 3x3 dilation 12
    largefov = _tiny(
        pool_kernel=3,
        ceil_mode=False,  # 3x3/2 pad 1 floor: 8k+1 -> k+1, 8k -> k
        pool_strides=(2, 2, 2, 1, 1),
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc_channels=8,
        fc6_kernel=3,
        fc6_dilation=12,
        out_indices=(5, ))
    assert largefov(torch.randn(1, 3, 64, 80))[0].shape[-2:] == (8, 10)
    # removed pools keep torchvision's layer numbering
    assert isinstance(dilated.features[dilated.stage_ends[3]], nn.Identity)
    assert [name for name, _ in dilated.features.named_children()
            ] == [name for name, _ in _tiny().features.named_children()]


def test_vgg_torchvision_names_and_converter():
    """Names follow torchvision; converted fc weights give the same math."""
    model = VGG(16, with_fc=True, out_indices=(5, ))
    ours = {k for k in model.state_dict()}
    # torchvision vgg16: conv at features.{0,2,5,7,10,12,14,17,19,21,24,26,28}
    conv_ids = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    expected = {
        f'features.{i}.{p}'
        for i in conv_ids
        for p in ('weight', 'bias')
    }
    assert {k for k in ours if k.startswith('features.')} == expected

    tv = {
        f'features.{i}.weight': torch.randn(model.features[i].weight.shape)
        for i in conv_ids
    }
    tv.update({
        f'features.{i}.bias': torch.randn(model.features[i].bias.shape)
        for i in conv_ids
    })
    tv['classifier.0.weight'] = torch.randn(4096, 512 * 7 * 7) * 0.01
    tv['classifier.0.bias'] = torch.randn(4096)
    tv['classifier.3.weight'] = torch.randn(4096, 4096) * 0.01
    tv['classifier.3.bias'] = torch.randn(4096)
    tv['classifier.6.weight'] = torch.randn(1000, 4096)
    tv['classifier.6.bias'] = torch.randn(1000)
    converted = convert_vgg(tv)
    missing, unexpected = model.load_state_dict(converted, strict=True)
    assert not missing and not unexpected

    # fc6 as a 7x7 conv on a 7x7 pool5 map equals the Linear layer
    pool5 = torch.randn(1, 512, 7, 7)
    fc6 = nn.functional.conv2d(pool5, model.fc6.weight, model.fc6.bias)
    linear = pool5.flatten(
        1) @ tv['classifier.0.weight'].t() + tv['classifier.0.bias']
    torch.testing.assert_close(fc6[:, :, 0, 0], linear, rtol=1e-4, atol=1e-4)


def test_converter_decimation_for_largefov():
    tv = {
        'features.0.weight': torch.randn(64, 3, 3, 3),
        'classifier.0.weight': torch.randn(4096, 512 * 49),
        'classifier.0.bias': torch.randn(4096),
        'classifier.3.weight': torch.randn(4096, 4096),
        'classifier.3.bias': torch.randn(4096),
    }
    out = convert_vgg(tv, fc_channels=1024, fc6_kernel=3)
    assert out['fc6.weight'].shape == (1024, 512, 3, 3)
    assert out['fc7.weight'].shape == (1024, 1024, 1, 1)
    full = tv['classifier.0.weight'].view(4096, 512, 7, 7)
    torch.testing.assert_close(out['fc6.weight'][1, :, 2, 1], full[4, :, 6, 3])
    with pytest.raises(ValueError, match='fc6_kernel'):
        convert_vgg(tv, fc6_kernel=5)
    with pytest.raises(KeyError, match='torchvision VGG'):
        convert_vgg({'conv1.weight': torch.zeros(1)})


def test_vgg_bn_and_frozen_stages():
    model = _tiny(norm_cfg=dict(type='BN'), frozen_stages=1, norm_eval=True)
    # conv, bn, relu per conv: torchvision vgg16_bn numbering
    assert isinstance(model.features[1], nn.BatchNorm2d)
    model.train()
    # frozen_stages=1 freezes one stage, as in mmcv
    frozen = list(model.features[:model.stage_ends[0] + 1].parameters())
    assert frozen and all(not p.requires_grad for p in frozen)
    assert all(p.requires_grad
               for p in model.features[model.stage_ends[0] + 1:].parameters())
    assert all(not m.training for m in model.modules()
               if isinstance(m, nn.BatchNorm2d))
    # without norm_eval only the frozen stage's norms stay in eval mode
    model = _tiny(norm_cfg=dict(type='BN'), frozen_stages=2).train()
    bns = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    assert [m.training for m in bns] == [False] * 4 + [True] * 9
    for frozen_stages in (-1, 0):
        model = _tiny(frozen_stages=frozen_stages, with_fc=True)
        assert all(p.requires_grad for p in model.parameters())
    # one more than the stages freezes fc6/fc7 too
    model = _tiny(frozen_stages=6, with_fc=True, fc_channels=8)
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match='frozen_stages'):
        _tiny(frozen_stages=6)


def test_vgg_feature_info():
    x = torch.randn(1, 3, 64, 96)
    post = _tiny(with_fc=True, fc_channels=12, out_indices=(0, 1, 2, 3, 4, 5))
    pre = _tiny(out_pre_pool=True, out_indices=(0, 1, 2, 3, 4))
    dilated = _tiny(
        pool_strides=(2, 2, 2, 0, 0),
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc_channels=12,
        out_indices=(3, 5, 1))
    for model in (post, pre, dilated):
        outs = model.eval()(x)
        assert model.out_channels == tuple(o.shape[1] for o in outs)
        info = [model.feature_info[i] for i in sorted(model.out_indices)]
        assert [64 // f['reduction']
                for f in info] == [o.shape[2] for o in outs]
        modules = dict(model.named_modules())
        assert all(f['module'] in modules for f in info)
    assert [f['reduction'] for f in post.feature_info] == [2, 4, 8, 16, 32, 32]
    assert [f['reduction'] for f in pre.feature_info] == [1, 2, 4, 8, 16]
    assert dilated.out_channels == (8, 16, 12)
    assert [f['module']
            for f in pre.feature_info[:2]] == ['features.3', 'features.8']


def test_vgg_every_parameter_gets_gradient():
    model = _tiny(
        norm_cfg=dict(type='BN'),
        with_fc=True,
        fc_channels=8,
        out_indices=(2, 3, 5))
    outs = model(torch.randn(2, 3, 45, 37))
    sum(o.mean() for o in outs).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=15), 'invalid depth'),
    (dict(dilations=(1, 1)), 'dilations'),
    (dict(out_indices=(5, )), 'with_fc'),
    (dict(out_indices=(7, ), with_fc=True), 'out_indices'),
])
def test_vgg_bad_arguments(kwargs, match):
    with pytest.raises((KeyError, ValueError), match=match):
        VGG(**kwargs)
