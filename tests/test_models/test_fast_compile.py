"""test_cfg.fast.compile: the network compiled by inductor with frozen
weights gives the plain model's logits (1e-4) and labels, and compiles
again when the weights change (never timed here)."""
import copy
import pickle

import pytest
import torch
import torch.nn as nn

from mmseg_ext.models.utils import FrozenCompiled
from .test_fast_inference import CONFIGS, _assert_same, _build, _predict

pytestmark = pytest.mark.skipif(
    not hasattr(torch, 'compile'), reason='needs torch.compile')


def _net(module, x):
    return module(x)


def _conv_bn(seed):
    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 1)).eval()
    module[1].running_mean.normal_()
    module[1].running_var.uniform_(0.5, 2)
    return module


def test_frozen_compiled_follows_the_weights():
    a, b = _conv_bn(0), _conv_bn(1)
    x = torch.randn(1, 3, 16, 20)
    compiled = FrozenCompiled(_net)
    with torch.no_grad():
        torch.testing.assert_close(compiled(a, x), a(x), rtol=0, atol=1e-5)
        assert len(compiled.compile_times) == 1
        torch.testing.assert_close(compiled(a, x), a(x), rtol=0, atol=1e-5)
        assert len(compiled.compile_times) == 1  # compiled once
        # another module of the same layers is not given a's weights
        other = FrozenCompiled(_net)
        torch.testing.assert_close(other(b, x), b(x), rtol=0, atol=1e-5)
        # weights written in place (an optimizer step, load_state_dict)
        a[0].weight.mul_(-2)
        a[1].running_mean.add_(1)
        torch.testing.assert_close(compiled(a, x), a(x), rtol=0, atol=1e-5)
        assert len(compiled.compile_times) == 2
    # copies start uncompiled and compile their own model
    twins = copy.deepcopy(compiled), pickle.loads(pickle.dumps(compiled))
    for twin in twins:
        assert twin.compile_times == [] and twin.fn is _net


def test_frozen_compiled_folds_batchnorm_after_transposed_conv():
    # inductor's own freezing folds this BatchNorm into the wrong axis of
    # the transposed conv's weight; equal widths, so that would run
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.ConvTranspose2d(6, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6),
        nn.ReLU()).eval()
    module[1].running_mean.normal_()
    module[1].running_var.uniform_(0.2, 3)
    module[1].weight.data.uniform_(0.5, 2)
    module[1].bias.data.normal_()
    x = torch.randn(1, 6, 12, 14)
    compiled = FrozenCompiled(_net)
    assert compiled.transposed_conv_bn(module) == [(module[0], module[1])]
    with torch.no_grad():
        expected = module(x)
        torch.testing.assert_close(
            compiled(module, x), expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(
            compiled(module, x), expected, rtol=0, atol=1e-5)
    assert compiled.freezing is True
    assert len(compiled.compile_times) == 1
    # the model is itself again after each call
    assert 'forward' not in vars(module[0])
    assert 'forward' not in vars(module[1])


@pytest.mark.parametrize('path', CONFIGS)
def test_compile_matches_plain(path):
    model = _build(path)
    inputs = torch.randn(2, 3, 45, 61)
    plain = _predict(model, inputs)
    model.test_cfg.fast = dict(compile=True)
    state = copy.deepcopy(model.state_dict())
    for _ in range(2):
        _assert_same(plain, _predict(model, inputs))
    assert len(model._compiled.compile_times) == 1
    # every model is frozen; DeconvNet's BatchNorms after transposed convs
    # are folded by FrozenCompiled itself
    assert model._compiled.freezing is True
    # nothing of the compiled path enters the model's weights
    after = model.state_dict()
    assert list(after) == list(state)
    assert all(torch.equal(after[k], v) for k, v in state.items())
    # train mode and the 'tensor' mode run plain
    model.train()
    model(inputs, mode='tensor')
    assert len(model._compiled.compile_times) == 1
