"""A checkpoint that does not fit the model is refused, naming the weights.

The case from the field: a checkpoint of a 21-class model tested with an
11-class config used to load everything but the head, log the mismatch
somewhere in the output, and report the metric of a random head. The runner
(``load_from``, ``tools/test.py``, ``--resume``, ``--tta``) refuses it through
``CheckLoadedWeightsHook``; ``init_model`` and ``MMSegInferencer``, which
load outside the runner, through the model (``WeightsFitMixin``).
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
from mmengine.runner.checkpoint import load_state_dict
from mmseg.apis import MMSegInferencer, init_model
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


HOOK_LOG = 'mmseg_ext.engine.hooks.check_loaded_weights_hook.print_log'
MODEL_LOG = 'mmseg_ext.engine.checkpoint.print_log'


def test_load_partial_loads_what_fits(ckpt21, tmp_path):
    cfg = _cfg(load_from=ckpt21, load_partial=True, work_dir=str(tmp_path))
    cfg.merge_from_dict({'optim_wrapper.optimizer.lr': 0.0})
    runner = Runner.from_cfg(cfg)
    with mock.patch(HOOK_LOG) as log, mock.patch(MODEL_LOG) as model_log:
        runner.train()
    model_log.assert_not_called()  # reported once, by the hook
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


def test_tta_model_is_checked_once(ckpt21, tmp_path):
    """``tools/test.py --tta`` wraps the model in ``SegTTAModel``."""
    cfg = _cfg(work_dir=str(tmp_path))
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointError) as e:
        runner.load_checkpoint(ckpt21)
    assert str(e.value).startswith(f'checkpoint {ckpt21} does not fit')
    assert str(e.value).endswith('(--cfg-options load_partial=True)')
    runner.cfg.load_partial = True  # the runner holds a copy
    with mock.patch(HOOK_LOG) as log, mock.patch(MODEL_LOG) as model_log:
        runner.load_checkpoint(ckpt21)
    assert log.call_count == 1
    model_log.assert_not_called()
    own = runner.model.module.state_dict()
    runner.load_checkpoint(_save(tmp_path / 'own.pth', own))
    # the hook's pass is used up by each load: none is left over
    assert '_weights_checked' not in vars(runner.model.module)


# --- init_model and MMSegInferencer load outside the runner ---------------


def _save(path, state_dict):
    torch.save({'meta': {}, 'state_dict': state_dict}, str(path))
    return str(path)


def _mismatch(message, path, model):
    """``message`` is the one line naming the head and both shapes."""
    assert '\n' not in message
    assert message.startswith(f'checkpoint {path} does not fit the model: ')
    key = 'decode_head.conv_seg.weight'
    given = torch.load(path)['state_dict'][key]
    assert (f'{key} {_shape(given)} in the checkpoint but '
            f'{_shape(model.state_dict()[key])} in the model') in message


def test_init_model_refuses_in_one_line(ckpt21):
    with pytest.raises(CheckpointError) as e:
        init_model(_cfg(11), ckpt21, device='cpu')
    _mismatch(str(e.value), ckpt21, _model(11))
    assert str(e.value).endswith('set model.load_partial=True in the config')
    assert e.value.__cause__ is None


def test_inferencer_refuses_in_one_line(ckpt21):
    with pytest.raises(CheckpointError) as e:
        MMSegInferencer(model=_cfg(11), weights=ckpt21, device='cpu')
    _mismatch(str(e.value), ckpt21, _model(11))


def test_missing_weights_are_refused(ckpt21, tmp_path):
    weights = dict(torch.load(ckpt21)['state_dict'])
    key = next(k for k in weights if k.startswith('backbone.'))
    del weights[key]
    path = _save(tmp_path / 'missing.pth', weights)
    with pytest.raises(CheckpointError) as e:
        init_model(_cfg(21), path, device='cpu')
    assert f'{path} does not fit the model: 1 weight missing: {key};' in str(
        e.value)


def test_fitting_checkpoint_loads(ckpt21):
    with mock.patch(MODEL_LOG) as log:
        model = init_model(_cfg(21), ckpt21, device='cpu')
        inferencer = MMSegInferencer(
            model=_cfg(21), weights=ckpt21, device='cpu')
    log.assert_not_called()
    given = torch.load(ckpt21)['state_dict']
    for loaded in (model, inferencer.model):
        for key, value in loaded.state_dict().items():
            assert torch.equal(value, given[key]), key


def test_load_partial_opt_out(ckpt21):
    given = torch.load(ckpt21)['state_dict']
    key = next(k for k in given if k.startswith('backbone.'))
    with mock.patch(MODEL_LOG) as log:
        model = init_model(
            _cfg(11),
            ckpt21,
            device='cpu',
            cfg_options={'model.load_partial': True})
    assert log.call_count == 1
    message = log.call_args[0][0]
    _mismatch(message.split(' (model.load_partial')[0], ckpt21, model)
    assert message.endswith(
        '(model.load_partial=True: loading the weights that fit)')
    assert torch.equal(model.state_dict()[key], given[key])
    assert model.state_dict()['decode_head.conv_seg.weight'].shape[0] == 11
    cfg = _cfg(11)
    cfg.model.load_partial = True
    with mock.patch(MODEL_LOG) as log:
        inferencer = MMSegInferencer(model=cfg, weights=ckpt21, device='cpu')
    assert log.call_count == 1
    assert torch.equal(inferencer.model.state_dict()[key], given[key])


def test_other_loads_keep_their_meaning(ckpt21):
    """In-memory weights are named as such; PyTorch's ``strict`` decides."""
    model = _model(11)
    given = torch.load(ckpt21)['state_dict']
    with pytest.raises(
            CheckpointError, match=r'^checkpoint \(state dict\) does not fit'):
        load_state_dict(model, {k: v.clone() for k, v in given.items()})
    with pytest.raises(RuntimeError, match='size mismatch'):
        model.load_state_dict(given)
    assert not isinstance(
        pytest.raises(RuntimeError, model.load_state_dict, given).value,
        CheckpointError)
    backbone = {k: v for k, v in given.items() if k.startswith('backbone.')}
    model.load_state_dict(backbone, strict=False)  # the head is missing
    assert '_weights_checked' not in vars(model)
