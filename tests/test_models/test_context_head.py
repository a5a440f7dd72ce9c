"""DilatedNet's context head, the LargeFOV head and their front-ends."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.models import VGG, ContextHead, LargeFOVHead
from mmseg_ext.models.decode_heads.context_head import identity_init_


def _head(num_classes=5, in_channels=12, **kwargs):
    head = ContextHead(
        in_channels=in_channels, num_classes=num_classes, **kwargs)
    head.init_weights()
    return head


def _samples(n, h, w, num_classes):
    samples = []
    for _ in range(n):
        s = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, h, w))))
        s.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w)))
        samples.append(s)
    return samples


def test_basic_module_is_identity_at_init():
    head = _head(num_classes=5).eval()  # no dropout
    x = torch.rand(2, 5, 23, 31)  # non-negative: every layer has a ReLU
    with torch.no_grad():
        out = head.conv_seg(head.context(x))
        assert torch.equal(out, x)
        # the exact paper initialisation: identity kernels, zero biases
        for layer in head.context:
            weight = layer.conv.weight
            expected = torch.zeros_like(weight)
            expected[:, :, 1, 1] = torch.eye(5)
            assert torch.equal(weight, expected)
            assert torch.equal(layer.conv.bias, torch.zeros(5))
        # so the whole head returns the front-end's scores, truncated at 0
        feats = torch.randn(1, 12, 13, 17)
        scores = head.frontend_seg(feats)
        assert (scores < 0).any() and (scores > 0).any()
        assert torch.equal(head([feats]), scores.relu())


def test_large_module_init():
    """Identity-like: exact pass-through without noise, and close to it
    with the default noise, which breaks the symmetry of each group."""
    x = torch.rand(1, 5, 19, 27)
    exact = _head(num_classes=5, variant='large', init_std=0.)
    noisy = _head(num_classes=5, variant='large')
    widths = [layer.conv.out_channels for layer in exact.context]
    assert widths == [10, 10, 20, 40, 80, 160, 160]
    assert exact.channels == 160
    with torch.no_grad():
        torch.testing.assert_close(
            exact.conv_seg(exact.context(x)), x, rtol=0, atol=1e-5)
        out = noisy.conv_seg(noisy.context(x))
        assert not torch.equal(out, x)
        assert (out - x).abs().mean() < 0.05 * x.mean()
        # every class map is spread evenly over its group of channels
        hidden = exact.context(x)
        torch.testing.assert_close(hidden[:, :32],
                                   x[:, :1].expand(-1, 32, -1, -1) / 32)
        hidden = noisy.context(x)
        assert not torch.equal(hidden[:, 0], hidden[:, 1])


def test_identity_init_formula():
    conv = torch.nn.Conv2d(4, 6, 3)
    identity_init_(conv, num_groups=2)
    w = conv.weight[:, :, 1, 1]
    # inputs 0,1 -> group 0; outputs 0,1,2 -> group 0; weight C/c_out = 1/3
    expected = torch.zeros(6, 4)
    expected[:3, :2] = 1 / 3
    expected[3:, 2:] = 1 / 3
    torch.testing.assert_close(w, expected)
    assert conv.weight[:, :, 0].abs().sum() == 0
    assert conv.bias.abs().sum() == 0


@pytest.mark.parametrize('variant', ['basic', 'large'])
@pytest.mark.parametrize('size', [(13, 16), (7, 9)])
def test_context_head_odd_sizes_and_gradients(variant, size):
    num_classes = 3
    head = _head(num_classes=num_classes, variant=variant)
    head.train()
    feats = [torch.randn(2, 12, *size)]
    out = head(feats)
    assert out.shape == (2, num_classes, *size)
    losses = head.loss_by_feat(out, _samples(2, 97, 123, num_classes))
    losses['loss_ce'].backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_context_head_with_norm_and_input_transform():
    head = _head(
        num_classes=4,
        in_channels=[6, 8],
        in_index=[0, 1],
        input_transform='resize_concat',
        norm_cfg=dict(type='BN'))
    out = head([torch.randn(2, 6, 11, 13), torch.randn(2, 8, 6, 7)])
    assert out.shape == (2, 4, 11, 13)
    assert head.frontend_seg.in_channels == 14


def test_pretrained_init_cfg_is_not_overwritten(tmp_path):
    src = _head(num_classes=3)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p))
    path = str(tmp_path / 'head.pth')
    torch.save(src.state_dict(), path)
    head = _head(
        num_classes=3, init_cfg=dict(type='Pretrained', checkpoint=path))
    for (name, a), b in zip(head.state_dict().items(),
                            src.state_dict().values()):
        assert torch.equal(a, b), name


def test_context_head_bad_args():
    with pytest.raises(ValueError, match='variant'):
        ContextHead(variant='huge', in_channels=4, num_classes=3)
    with pytest.raises(ValueError, match='dilations'):
        ContextHead(dilations=(1, 2, 4), in_channels=4, num_classes=3)
    with pytest.raises(ValueError, match='dilations'):
        ContextHead(
            dilations=(1, 1, 2, 4, 8, 0, 1), in_channels=4, num_classes=3)
    with pytest.raises(ValueError, match='init_std'):
        ContextHead(init_std=-1, in_channels=4, num_classes=3)
    with pytest.raises(TypeError, match='channels'):
        ContextHead(in_channels=4, channels=8, num_classes=3)


def test_largefov_head_odd_sizes_and_gradients():
    head = LargeFOVHead(
        in_channels=8, channels=12, num_classes=3, dropout_ratio=0.5)
    head.init_weights()
    assert head.fc6.conv.dilation == (12, 12)
    assert head.fc6.conv.kernel_size == (3, 3)
    assert head.fc7.conv.kernel_size == (1, 1)
    head.train()
    out = head([torch.randn(2, 8, 13, 16)])
    assert out.shape == (2, 3, 13, 16)
    head.loss_by_feat(out, _samples(2, 97, 123, 3))['loss_ce'].backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_largefov_head_bad_args():
    with pytest.raises(ValueError, match='kernel_size'):
        LargeFOVHead(kernel_size=2, in_channels=4, channels=4, num_classes=2)
    with pytest.raises(ValueError, match='dilation'):
        LargeFOVHead(dilation=0, in_channels=4, channels=4, num_classes=2)


@pytest.mark.parametrize('size', [(97, 123), (321, 321), (96, 128)])
def test_front_ends_have_output_stride_8(size):
    """DilatedNet's and LargeFOV's VGG16 settings: output stride 8, with
    Caffe's 321 -> 41 for LargeFOV's floor-mode 3x3 pooling."""
    widths = dict(
        stage_channels=(4, 8, 8, 16, 16), fc_channels=12, out_indices=(5, ))
    dilated = VGG(
        16,
        pool_strides=(2, 2, 2, 0, 0),
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc6_dilation=4,
        **widths).eval()
    largefov = VGG(
        16,
        pool_kernel=3,
        pool_strides=(2, 2, 2, 1, 1),
        ceil_mode=False,
        dilations=(1, 1, 1, 1, 2),
        with_fc=True,
        fc6_kernel=3,
        fc6_dilation=12,
        **widths).eval()
    x = torch.randn(1, 3, *size)
    h, w = size
    with torch.no_grad():
        assert dilated(x)[0].shape[-2:] == (-(-h // 8), -(-w // 8))
        assert largefov(x)[0].shape[-2:] == ((h - 1) // 8 + 1,
                                             (w - 1) // 8 + 1)
    if size == (321, 321):
        assert largefov(x)[0].shape[-2:] == (41, 41)


def test_largefov_vgg_head_is_mmseg_fcn_head():
    """On VGG the LargeFOV head is mmseg's FCNHead with no convs: just the
    1x1 score layer on fc7."""
    head = MODELS.build(
        dict(
            type='FCNHead',
            in_channels=12,
            channels=12,
            num_convs=0,
            concat_input=False,
            dropout_ratio=0,
            num_classes=3))
    params = dict(head.named_parameters())
    assert set(params) == {'conv_seg.weight', 'conv_seg.bias'}
    assert params['conv_seg.weight'].shape == (3, 12, 1, 1)
