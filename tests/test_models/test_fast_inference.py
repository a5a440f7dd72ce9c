"""test_cfg.fast: BatchNorm folded on the fly and channels_last give the
plain model's logits (1e-4) and labels, and leave the model as it was."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.models.utils import (FAST_CLI_CHOICES, FAST_OPTIONS,
                                    add_fast_argument, conv_bn_folded,
                                    fast_inference, find_conv_bn_pairs,
                                    fold_conv_bn, parse_fast_cfg)
from ..conftest import MINI_CFG, REPO

CONFIGS = sorted(
    osp.relpath(p, osp.join(REPO, 'configs'))
    for p in glob.glob(osp.join(REPO, 'configs', '*', '*tiny*camvid-mini*'))
) + ['unet/unet_vgg16-bn-w16_1xb4-cpu30m_camvid-360x480.py']
ATOL = 1e-4
FOLD = dict(fold_bn=True, channels_last=True, native_unpool=True)


def _randomize_bn(model, seed=0):
    """BatchNorm statistics and affine far from the identity."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen))
            m.running_var.copy_(torch.rand(n, generator=gen) * 2 + 0.1)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen))
    return model


def _build(path, **test_cfg):
    cfg = Config.fromfile(osp.join(REPO, 'configs', path))
    cfg.model.test_cfg = dict(cfg.model.test_cfg, **test_cfg)
    torch.manual_seed(0)
    model = _randomize_bn(revert_sync_batchnorm(MODELS.build(cfg.model)))
    with torch.no_grad():  # logits of std 1, as a trained model's are
        std = model.eval()(torch.randn(1, 3, 45, 61), mode='tensor').std()
        model.decode_head.conv_seg.weight /= std
        model.decode_head.conv_seg.bias /= std
    return model


def _predict(model, inputs):
    with torch.no_grad():
        return model.predict(inputs)


def _assert_same(plain, fast, flipped=False):
    """Logits within ATOL; labels equal except where the plain model's top
    two logits are closer than that (a tie at float rounding).

    With ``flipped``, a max-pooling window of an unpooling model held two
    values equal to float rounding and picked the other switch, which moves
    that value in the decoder (plain PyTorch on another CPU does the same):
    then only 99% of the labels must agree.
    """
    for p, f in zip(plain, fast):
        p_logits, f_logits = p.seg_logits.data, f.seg_logits.data
        differ = p.pred_sem_seg.data[0] != f.pred_sem_seg.data[0]
        if flipped:
            assert differ.float().mean() < 0.01
            continue
        torch.testing.assert_close(f_logits, p_logits, rtol=0, atol=ATOL)
        top2 = p_logits.topk(2, dim=0).values
        ties = (top2[0] - top2[1]) < 2 * ATOL
        assert not (differ & ~ties).any()


def _switch_flips(model, runs):
    """Results of each of ``runs`` and how many max-pooling switches of
    the backbone differ between them and the first."""
    switches = []
    handle = model.backbone.register_forward_hook(
        lambda m, args, out: switches.append(
            [s[0] for s in getattr(out, 'switches', ()) if s is not None]))
    results = []
    for run in runs:
        switches.clear()
        results.append((run(), [s for s in switches]))
    handle.remove()
    ref = results[0][1]
    return [(res,
             sum(
                 int((a != b).sum()) for sw, rsw in zip(s, ref)
                 for a, b in zip(sw, rsw))) for res, s in results]


@pytest.mark.parametrize('path', CONFIGS)
def test_fast_matches_plain(path, monkeypatch):
    model = _build(path)
    inputs = torch.randn(2, 3, 45, 61)
    folds = []
    fold = fast_inference.fold_conv_bn
    monkeypatch.setattr(fast_inference, 'fold_conv_bn',
                        lambda *a: folds.append(a) or fold(*a))

    counts = []

    def run(fast):

        def predict():
            model.test_cfg.fast = fast
            result = _predict(model, inputs)
            counts.append(len(folds))
            return result

        return predict

    (plain, _), (first, _), (fast, flips) = _switch_flips(
        model, [run(False), run(FOLD), run(FOLD)])
    assert counts[1] == 0  # the first fast call runs plain, finds the pairs
    assert counts[2] > 0  # the large early maps run folded
    _assert_same(plain, first)
    _assert_same(plain, fast, flipped=flips > 0)
    assert flips <= 2
    num_bn = sum(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in model.backbone.modules())
    pairs = model._conv_bn_pairs
    assert sum(bn.startswith('backbone.') for _, bn in pairs) == num_bn
    assert fast[0].seg_logits.data.is_contiguous()


@pytest.mark.parametrize('part', ['fold_bn', 'channels_last', 'native_unpool'])
def test_fast_parts_alone(part):
    path = 'segnet/segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py'
    model = _build(path)
    inputs = torch.randn(1, 3, 33, 47)
    plain = _predict(model, inputs)
    model.test_cfg.fast = {name: name == part for name in FAST_OPTIONS}
    for _ in range(2):
        _assert_same(plain, _predict(model, inputs))


@pytest.mark.parametrize('family, default', [('segnet', True),
                                             ('deconvnet', False)])
def test_fast_channels_last_where_it_pays(family, default):
    """``fast=True`` lays the input out channels_last unless the network
    has transposed convolutions (DeconvNet); ``channels_last`` set in the
    config decides for any network. The labels stay the plain model's."""
    model = _build(f'{family}/{family}_vgg16-bn-tiny_1xb4-1k_camvid-mini'
                   '-180x240.py')
    layouts = []
    model.backbone.register_forward_pre_hook(lambda m, args: layouts.append(
        args[0].is_contiguous(memory_format=torch.channels_last)))
    inputs = torch.randn(1, 3, 33, 47)
    model.test_cfg.fast = False
    plain = _predict(model, inputs)
    for fast, expected in ((True, default), (dict(channels_last=True), True),
                           (dict(channels_last=False), False)):
        model.test_cfg.fast = fast
        _assert_same(plain, _predict(model, inputs))
        assert layouts[-1] is expected, fast


def test_fast_leaves_model_and_training_unchanged():
    path = 'deconvnet/deconvnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py'
    model = _build(path, fast=FOLD)
    twin = copy.deepcopy(model)
    twin.test_cfg.fast = False
    before = copy.deepcopy(model.state_dict())
    inputs = torch.randn(1, 3, 37, 49)
    for _ in range(2):
        _predict(model, inputs)
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    # a training step after fast predictions is the plain model's, and the
    # next fast predictions use the new weights
    sample = SegDataSample(
        gt_sem_seg=PixelData(data=torch.randint(0, 11, (1, 37, 49))))
    sample.set_metainfo(dict(img_shape=(37, 49), ori_shape=(37, 49)))
    grads = []
    for m in (model, twin):
        m.train()
        torch.manual_seed(1)
        losses = m.loss(inputs, [sample])
        m.parse_losses(losses)[0].backward()
        params = [p for p in m.parameters() if p.requires_grad]
        grads.append([p.grad.clone() for p in params])
        torch.optim.SGD(params, lr=0.1).step()
    for a, b in zip(*grads):
        assert torch.equal(a, b)
    _assert_same(_predict(twin.eval(), inputs), _predict(model.eval(), inputs))


def test_fast_with_crf_and_logit_adjust():
    path = 'segnet/segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py'
    model = _build(path, crf=dict(iterations=2), logit_adjust=1.0)
    inputs = torch.randn(1, 3, 29, 41) * 50
    plain = _predict(model, inputs)
    model.test_cfg.fast = FOLD
    for _ in range(2):
        fast = _predict(model, inputs)
    torch.testing.assert_close(
        fast[0].seg_logits.data, plain[0].seg_logits.data, rtol=0, atol=1e-3)


def test_tensor_mode_stays_plain():
    """ONNX export traces mode='tensor', which never takes the fast path."""
    path = 'segnet/segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py'
    model = _build(path, fast=True)
    inputs = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        _predict(model, inputs)
        out = model(inputs, mode='tensor')
        model.test_cfg.fast = False
        assert torch.equal(out, model(inputs, mode='tensor'))


def test_inference_model_and_init_model(tmp_path):
    from mmseg.apis import inference_model, init_model
    path = MINI_CFG  # no max-pooling switches: see _assert_same
    ckpt = str(tmp_path / 'model.pth')
    meta = dict(classes=[str(i) for i in range(11)], palette=[[0, 0, 0]] * 11)
    torch.save(
        dict(
            state_dict=_build(path).state_dict(),
            meta=dict(dataset_meta=meta)), ckpt)
    img = np.random.default_rng(0).integers(0, 256, (41, 57, 3), np.uint8)
    results = []
    for fast in (False, True, True):
        cfg = Config.fromfile(path)
        cfg.model.test_cfg.fast = fast
        model = init_model(cfg, ckpt, device='cpu')
        results.append(inference_model(model, img))
        if fast:
            inference_model(model, img)
            results[-1] = inference_model(model, img)
    _assert_same([results[0]], [results[1]])
    _assert_same([results[0]], [results[2]])


def test_find_conv_bn_pairs():

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 1)
            self.shared = nn.Conv2d(4, 4, 1)
            self.deconv = nn.ConvTranspose2d(4, 4, 2, stride=2)
            self.a_bn = nn.BatchNorm2d(4)  # registered after b: not adjacent
            self.b_bn = nn.BatchNorm2d(4)
            self.shared_bn = nn.BatchNorm2d(4)
            self.deconv_bn = nn.BatchNorm2d(4)

        def forward(self, x):
            x = self.a_bn(self.a(x))
            x = self.b_bn(self.b(x).relu())  # not the conv's output
            x = self.shared_bn(self.shared(x)) + self.shared(x)
            return self.deconv_bn(self.deconv(x))

    net = _randomize_bn(Net()).eval()
    x = torch.randn(1, 3, 9, 11)
    out, pairs = find_conv_bn_pairs(net, lambda: net(x))
    assert pairs == [('a', 'a_bn'), ('deconv', 'deconv_bn')]
    with conv_bn_folded(net, pairs):
        torch.testing.assert_close(net(x), out)
        assert 'forward' in vars(net.a)
    assert 'forward' not in vars(net.a) and 'forward' not in vars(net.a_bn)
    net.a_bn.train()
    _, pairs = find_conv_bn_pairs(net, lambda: net(x))
    assert pairs == [('deconv', 'deconv_bn')]


@pytest.mark.parametrize('transposed', [False, True])
def test_fold_conv_bn_exact(transposed):
    torch.manual_seed(0)
    conv = (nn.ConvTranspose2d(4, 6, 3, stride=2) if transposed else nn.Conv2d(
        4, 6, 3, groups=2, bias=False)).double()
    bn = _randomize_bn(nn.BatchNorm2d(6)).double().eval()
    x = torch.randn(2, 4, 7, 5, dtype=torch.double)
    weight, bias = fold_conv_bn(conv, bn)
    folded = copy.deepcopy(conv)
    folded.weight.data, folded.bias = weight, nn.Parameter(bias)
    torch.testing.assert_close(folded(x), bn(conv(x)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('cfg, expected', [
    (None,
     dict(
         fold_bn=False,
         channels_last=False,
         native_unpool=False,
         compile=False)),
    (True,
     dict(
         fold_bn=False, channels_last=None, native_unpool=True,
         compile=False)),
    (dict(fold_bn=True, native_unpool=False),
     dict(
         fold_bn=True, channels_last=None, native_unpool=False,
         compile=False)),
    (dict(compile=True, channels_last=1),
     dict(fold_bn=False, channels_last=True, native_unpool=True,
          compile=True)),
])
def test_parse_fast_cfg(cfg, expected):
    assert parse_fast_cfg(cfg) == expected


@pytest.mark.parametrize('cfg, match',
                         [('yes', 'must be True'), (dict(jit=True), 'unknown'),
                          (dict(fold_bn=True, compile=True), 'choose one')])
def test_parse_fast_cfg_errors(cfg, match):
    with pytest.raises(TypeError, match=match):
        parse_fast_cfg(cfg)
    path = 'segnet/segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py'
    with pytest.raises(TypeError, match=match):
        _build(path, fast=cfg)


def test_fast_argument():
    """``--fast [on|compile]`` of tools/test.py and the demos."""
    import argparse
    parser = argparse.ArgumentParser()
    add_fast_argument(parser)
    assert parser.parse_args([]).fast is None
    chosen = [
        FAST_CLI_CHOICES[parser.parse_args(argv).fast]
        for argv in (['--fast'], ['--fast', 'compile'])
    ]
    assert chosen == [True, dict(compile=True)]
    assert [parse_fast_cfg(cfg)['compile'] for cfg in chosen] == [False, True]
    with pytest.raises(SystemExit):
        parser.parse_args(['--fast', 'jit'])
