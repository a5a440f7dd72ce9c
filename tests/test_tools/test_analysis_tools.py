"""mmseg's analysis tools (or this package's thin replacements) on the
package's configs, with checkpoints made here."""
import glob
import json
import math
import os
import os.path as osp
import runpy
import shutil
import sys

import mmcv
import mmseg
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS
from PIL import Image

from mmseg_ext.apis import Segmenter
from mmseg_ext.models.utils import UnpoolBlock
from ..conftest import CAMVID_MINI, REPO
from .test_demos import DECONVNET, SEGNET, VAL, load_script, make_checkpoint

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)
FAST = [
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'
]


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('tool_ckpts')
    return dict(
        segnet=make_checkpoint(SEGNET, str(root / 'segnet.pth')),
        deconvnet=make_checkpoint(DECONVNET, str(root / 'deconvnet.pth')))


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)


def test_get_flops(capsys):
    tool = load_script('tools', 'analysis_tools', 'get_flops.py')
    small = tool.inference(tool.parse_args([SEGNET, '--shape', '90', '120']))
    large = tool.inference(tool.parse_args([SEGNET, '--shape', '180', '240']))
    cfg = Config.fromfile(SEGNET)
    params = sum(p.numel() for p in MODELS.build(cfg.model).parameters())
    assert small['params'] == large['params'] == params
    # convolutions dominate: 4x the pixels, about 4x the FLOPs
    assert 3.8 < large['flops'] / small['flops'] < 4.2
    tool.main([SEGNET, '--shape', '180', '240'])
    out = capsys.readouterr().out
    assert 'Input shape: (180, 240)' in out
    assert f'Flops: {large["flops_str"]}' in out


def test_benchmark_on_a_small_test_set(checkpoints, tmp_path, capsys):
    tool = load_script('tools', 'analysis_tools', 'benchmark.py')
    args = [
        SEGNET, checkpoints['segnet'], '--work-dir',
        str(tmp_path), '--cfg-options', 'test_dataloader.dataset.indices=8'
    ] + FAST
    tool.main(args)
    result = json.load(open(glob.glob(str(tmp_path / 'fps_*.json'))[0]))
    assert result['timed_images'] == 3  # 8 images, 5 for warm-up
    assert math.isfinite(result['average_fps']) and result['average_fps'] > 0
    with pytest.raises(SystemExit, match='has 5 images'):
        tool.main(args[:-3] + ['test_dataloader.dataset.indices=5'] + FAST)


def test_browse_dataset_without_display(tmp_path, no_display):
    tool = load_script('tools', 'misc', 'browse_dataset.py')
    opts = ['--cfg-options', 'train_dataloader.dataset.indices=2']
    tool.main([SEGNET, '--output-dir', str(tmp_path)] + opts)
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2
    assert mmcv.imread(str(tmp_path / names[0])).ndim == 3
    with pytest.raises(SystemExit, match='nothing to do'):
        tool.main([SEGNET] + opts)


def _write_run(work_dir, stamp, records):
    path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
    os.makedirs(osp.dirname(path))
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)


def test_plot_curves_merges_resumed_runs(tmp_path):
    tool = load_script('tools', 'analysis_tools', 'plot_curves.py')
    work_dir = str(tmp_path / 'run')
    # killed after iteration 6, resumed from the iteration-4 checkpoint
    _write_run(
        work_dir, '20240101_000000',
        [dict(loss=10. - i, lr=0.1, iter=i, step=i)
         for i in range(1, 7)] + [dict(mIoU=20.0, aAcc=50., step=4)])
    _write_run(
        work_dir, '20240101_010000',
        [dict(loss=1. * i, lr=0.1, iter=i, step=i)
         for i in range(5, 9)] + [dict(mIoU=30.0, aAcc=60., step=8)])
    _write_run(work_dir, '20240102_000000', [dict(mIoU=99., step=0)])  # test
    curves = tool.load_curves(work_dir)
    assert curves['loss'] == {
        1: 9.,
        2: 8.,
        3: 7.,
        4: 6.,
        5: 5.,
        6: 6.,
        7: 7.,
        8: 8.
    }
    assert curves['mIoU'] == {4: 20., 8: 30.}
    out = str(tmp_path / 'curves.png')
    tool.main([work_dir, '--out-file', out, '--smooth', '2'])
    assert Image.open(out).size[0] > 2 * Image.open(out).size[1]
    with pytest.raises(SystemExit, match='not recorded'):
        tool.main([work_dir, '--keys', 'mDice', '--out-file', out])
    with pytest.raises(SystemExit, match='no training run'):
        tool.main([str(tmp_path / 'empty'), '--out-file', out])


def test_mmseg_confusion_matrix_works(tmp_path, monkeypatch):
    """mmseg's own tool on this package's CamVid config: ground truth as
    the predictions gives the identity."""
    pred = tmp_path / 'pred'
    pred.mkdir()
    names = open(osp.join(CAMVID_MINI, 'val.txt')).read().split()[:3]
    for name in names:
        shutil.copy(
            osp.join(CAMVID_MINI, 'valannot', name + '.png'),
            pred / (name + '.png'))
    tool_path = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'analysis_tools',
        'confusion_matrix.py')
    monkeypatch.setattr(sys, 'argv', [
        tool_path, SEGNET,
        str(pred),
        str(tmp_path / 'cm'), '--cfg-options',
        'test_dataloader.dataset.indices=3'
    ])
    tool = runpy.run_path(tool_path)
    tool['main']()
    assert osp.getsize(str(tmp_path / 'cm' / 'confusion_matrix.png')) > 0
    cfg = Config.fromfile(SEGNET)
    cfg.test_dataloader.dataset.indices = 3
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    results = [np.asarray(Image.open(p)) for p in sorted(pred.iterdir())]
    matrix = tool['calculate_confusion_matrix'](dataset, results)
    assert matrix.sum() > 0
    assert matrix.sum() == np.trace(matrix)


@pytest.mark.parametrize('name', ['segnet', 'deconvnet'])
def test_vis_decoder(name, checkpoints, tmp_path, capsys):
    tool = load_script('tools', 'analysis_tools', 'vis_decoder.py')
    config = SEGNET if name == 'segnet' else DECONVNET
    segmenter = Segmenter(config, checkpoints[name])
    head = segmenter.model.decode_head
    records, handles = tool.record_stages(head)
    segmenter(VAL[0])
    for handle in handles:
        handle.remove()
    stages = [m for m in head.modules() if isinstance(m, UnpoolBlock)]
    assert len(records) == len(stages) == len(head.stages)
    # deepest first; DeconvNet's deepest (fc6-deconv) stage does not unpool
    assert [r['index'] for r in records] == list(range(len(stages)))[::-1]
    assert [r['unpooled'] for r in records][0] == (name == 'segnet')
    for rec in records:
        before, after = rec['before'], rec['after']
        if rec['unpooled']:
            # at most one value per 2x2 window and channel (ceil mode)
            h, w = before.shape[-2:]
            windows = ((h + 1) // 2) * ((w + 1) // 2)
            nonzero = (before != 0).flatten(2).sum(-1)
            assert int(nonzero.max()) <= windows
            assert float((after != 0).float().mean()) > 0.3  # dense again
        assert after.shape[-2:] == before.shape[-2:]
    out = str(tmp_path / 'grid.png')
    tool.main([config, checkpoints[name], VAL[0], '--out-file', out])
    assert 'zeros after unpooling' in capsys.readouterr().out
    width, height = Image.open(out).size
    assert height > width  # one row per stage


def test_every_config_has_tta():
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        assert cfg.tta_model.type == 'SegTTAModel', path
        steps = [t['type'] for t in cfg.tta_pipeline]
        assert steps[-1] == 'TestTimeAug', path


def test_tools_test_tta(checkpoints, tmp_path, monkeypatch):
    """tools/test.py --tta: multi-scale + flip on two real images."""
    tool = load_script('tools', 'test.py')
    monkeypatch.setattr(sys, 'argv', [
        'test.py', SEGNET, checkpoints['segnet'], '--tta', '--work-dir',
        str(tmp_path), '--cfg-options', 'test_dataloader.dataset.indices=2'
    ] + FAST)
    tool.main()
    logs = glob.glob(str(tmp_path / '*' / '*.json'))  # the test's metrics
    record = json.load(open(logs[0]))
    assert 0 <= record['mIoU'] <= 100 and record['aAcc'] > 0


def test_tta_pipeline_scales():
    cfg = Config.fromfile(SEGNET)
    tta = cfg.tta_pipeline[1]['transforms']
    assert [t['scale'] for t in tta[0]][2] == (240, 180)
    assert [t['prob'] for t in tta[1]] == [0., 1.]
    full = Config.fromfile(
        osp.join(REPO, 'configs', 'segnet',
                 'segnet_vgg16-bn_1xb8-20k_camvid-360x480.py'))
    assert full.tta_pipeline[1]['transforms'][0][2]['scale'] == (480, 360)


def test_segmenter_reads_images_like_the_pipeline(checkpoints):
    seg = Segmenter(SEGNET, checkpoints['segnet'])
    img = mmcv.imread(VAL[0])
    grey = seg(img[..., 0])
    assert grey.pred_sem_seg.data.shape == (1, 180, 240)
    assert torch.equal(seg(VAL[0]).seg_logits.data, seg(img).seg_logits.data)
