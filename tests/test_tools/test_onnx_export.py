"""ONNX export of the unpooling models, checked against onnxruntime."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from ..conftest import REPO

TOOL = osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py')
CONFIGS = {
    'segnet-vgg16':
    'configs/segnet/segnet_vgg16-bn_1xb8-20k_camvid-360x480.py',
    'deconvnet-vgg16':
    'configs/deconvnet/deconvnet_vgg16-bn_1xb8-20k_camvid-360x480.py',
    'segnet-r50': 'configs/segnet/segnet_r50_1xb8-20k_camvid-360x480.py',
    'deconvnet-r50':
    'configs/deconvnet/deconvnet_r50_1xb8-20k_camvid-360x480.py',
}
VGG_NARROW = [
    'model.backbone.stage_channels=(4,8,8,16,16)',
    'model.backbone.fc_channels=12',
    'model.decode_head.in_channels=[4,8,8,16,16,12]',
]


def _tool():
    spec = importlib.util.spec_from_file_location('pytorch2onnx', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _narrow_cfg(name):
    cfg = Config.fromfile(osp.join(REPO, CONFIGS[name]))
    backbone, head = cfg.model.backbone, cfg.model.decode_head
    if backbone.type == 'VGG':
        backbone.stage_channels = (4, 8, 8, 16, 16)
        widths = [4, 8, 8, 16, 16, 12]
        backbone.fc_channels = 12
    else:
        backbone.base_channels = backbone.stem_channels = 8
        widths = [32, 64, 128, 256]
    head.in_channels = [widths[i] for i in backbone.out_indices]
    return cfg


def _randomize_(model, seed=0):
    """A random score layer scaled to logits of std 1 on random images.

    With mmseg's 0.01-std init the logits are so small that any export
    would pass; the rest keeps its initialisation (Kaiming convs, identity
    norms), which is well conditioned in float32.
    """
    gen = torch.Generator().manual_seed(seed)
    seg = model.decode_head.conv_seg
    with torch.no_grad():
        seg.weight.copy_(torch.randn(seg.weight.shape, generator=gen))
        seg.bias.zero_()
        logits = model.eval()(
            torch.randn(1, 3, 97, 123, generator=gen), mode='tensor')
        seg.weight /= logits.std()
    return model


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_export_matches_pytorch(name, tmp_path):
    tool = _tool()
    model = _randomize_(tool.build_model(_narrow_cfg(name)))
    out = str(tmp_path / f'{name}.onnx')
    tool.export(model, out, (97, 123))
    max_diff, mismatch = tool.verify(model, out, (97, 123))
    assert max_diff < 1e-4 and mismatch == 0
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 97, 123), mode='tensor')
    assert 0.1 < logits.std() < 10  # not a near-constant map
    if 'vgg16' in name:
        assert logits.shape[-2:] == (97, 123)


def test_verify_detects_a_different_model(tmp_path):
    tool = _tool()
    cfg = _narrow_cfg('segnet-vgg16')
    out = str(tmp_path / 'segnet.onnx')
    tool.export(_randomize_(tool.build_model(cfg), seed=0), out, (45, 61))
    other = _randomize_(tool.build_model(cfg), seed=1)
    with pytest.raises(SystemExit, match='differs from PyTorch'):
        tool.verify(other, out, (45, 61))
    with pytest.raises(ValueError, match='opset'):
        tool.export(other, out, (45, 61), opset=10)


@pytest.mark.slow
def test_cli_with_checkpoint(tmp_path):
    tool = _tool()
    cfg = _narrow_cfg('deconvnet-vgg16')
    ckpt = str(tmp_path / 'deconvnet.pth')
    model = _randomize_(tool.build_model(cfg))
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=1)), ckpt)
    out = str(tmp_path / 'deconvnet.onnx')
    cmd = [
        sys.executable, TOOL,
        osp.join(REPO, CONFIGS['deconvnet-vgg16']), ckpt, '--output-file', out,
        '--shape', '33', '47', '--verify', '--cfg-options'
    ] + VGG_NARROW
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'onnxruntime matches PyTorch' in proc.stdout
    assert osp.getsize(out) > 0
    bad = subprocess.run(
        cmd + ['--opset', '10'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300)
    assert bad.returncode != 0 and '--opset must be >= 11' in bad.stderr
