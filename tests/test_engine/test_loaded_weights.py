"""A checkpoint that does not fit the model is refused, naming the weights.

The case from the field: a checkpoint of a 21-class model tested with an
11-class config used to load everything but the head, log the mismatch
somewhere in the output, and report the metric of a random head.
"""
import os
import os.path as osp
import subprocess
import sys
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_ext.engine import CheckpointError, check_weights_fit
from ..conftest import CAMVID_MINI, MINI_CFG, REPO

TINY = {
    'model.backbone.stage_channels': (4, 8, 8, 16, 16),
    'model.backbone.fc_channels': 16,
    'model.decode_head.in_channels': [8, 16, 16],
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.data_root': CAMVID_MINI,
    'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False,
    'train_cfg.max_iters': 1,
    'train_cfg.val_begin': 1000,
    'param_scheduler.0.end': 1,
    'randomness.seed': 0,
}


def _cfg(num_classes=11, **kwargs):
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    cfg.model.decode_head.num_classes = num_classes
    cfg.update(kwargs)
    if 'work_dir' in kwargs:
        cfg.experiment_name = f'weights_{osp.basename(cfg.work_dir)}'
    return cfg


def _model(num_classes):
    init_default_scope('mmseg')
    return MODELS.build(_cfg(num_classes).model)


@pytest.fixture(scope='module')
def ckpt21(tmp_path_factory):
    """Weights of the demo model with a 21-class head."""
    path = str(tmp_path_factory.mktemp('ckpt') / 'voc21.pth')
    torch.save({'meta': {}, 'state_dict': _model(21).state_dict()}, path)
    return path


def _shape(tensor):
    return 'x'.join(str(n) for n in tensor.shape)


def test_names_the_weights_and_both_shapes(ckpt21):
    model = _model(11)
    weights = torch.load(ckpt21)['state_dict']
    with pytest.raises(CheckpointError) as e:
        check_weights_fit(model, weights, source=ckpt21)
    message = str(e.value)
    assert '\n' not in message
    assert message.startswith(f'checkpoint {ckpt21} does not fit the model: ')
    key = 'decode_head.conv_seg.weight'
    assert (f'{key} {_shape(weights[key])} in the checkpoint but '
            f'{_shape(model.state_dict()[key])} in the model') in message
    assert 'load_partial=True' in message
    assert check_weights_fit(model, model.state_dict(), 'own') is None


def test_names_missing_weights_but_not_extra_ones(ckpt21):
    model = _model(21)
    weights = dict(torch.load(ckpt21)['state_dict'])
    key = next(k for k in weights if k.startswith('backbone.'))
    del weights[key]
    weights['auxiliary_head.conv.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError) as e:
        check_weights_fit(model, weights, source='x.pth')
    assert f': 1 weight missing: {key};' in str(e.value)
    # "module." prefixes (a DDP-wrapped model's) are stripped, as MMEngine
    # does, and BatchNorm's counters are not required
    wrapped = {
        f'module.{k}': v
        for k, v in model.state_dict().items()
        if not k.endswith('num_batches_tracked')
    }
    assert check_weights_fit(model, wrapped, source='x.pth') is None


def test_load_from_refuses(ckpt21, tmp_path):
    cfg = _cfg(load_from=ckpt21, work_dir=str(tmp_path))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointError, match='does not fit the model'):
        runner.train()
    assert runner.iter == 0


def test_load_partial_loads_what_fits(ckpt21, tmp_path):
    cfg = _cfg(load_from=ckpt21, load_partial=True, work_dir=str(tmp_path))
    cfg.merge_from_dict({'optim_wrapper.optimizer.lr': 0.0})
    runner = Runner.from_cfg(cfg)
    with mock.patch('mmseg_ext.engine.hooks.check_loaded_weights_hook.'
                    'print_log') as log:
        runner.train()
    assert 'does not fit the model' in log.call_args[0][0]
    assert 'loading the weights that fit' in log.call_args[0][0]
    loaded = runner.model.state_dict()
    given = torch.load(ckpt21)['state_dict']
    key = next(k for k in given if k.startswith('backbone.'))
    assert torch.equal(loaded[key], given[key])
    assert loaded['decode_head.conv_seg.weight'].shape[0] == 11


@pytest.mark.slow
def test_test_tool_refuses_in_one_line(ckpt21, tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        OMP_NUM_THREADS='1')
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    res = subprocess.run(
        [
            sys.executable, 'tools/test.py', MINI_CFG, ckpt21, '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + opts,
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=900)
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    lines = [
        ln for ln in res.stderr.splitlines()
        if ln.startswith('CheckpointError')
    ]
    assert len(lines) == 1, res.stderr[-3000:]
    assert lines[0].startswith(
        f'CheckpointError: checkpoint {ckpt21} does not fit the model: ')
    assert 'Iter(test)' not in res.stdout  # no evaluation ran
    assert not osp.exists(tmp_path / 'vis_data')
