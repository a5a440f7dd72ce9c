"""NaN/inf losses stop training with a message naming the iteration."""
import math
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from mmseg_ext.engine import CheckInvalidLossHook, InvalidLossError
from ..conftest import CAMVID_MINI, MINI_CFG, REPO

TINY = {
    'model.backbone.stage_channels': (4, 8, 8, 16, 16),
    'model.backbone.fc_channels': 16,
    'model.decode_head.in_channels': [8, 16, 16],
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.data_root': CAMVID_MINI,
    'train_cfg.val_begin': 1000,
    'default_hooks.logger.interval': 1,
    'randomness.seed': 0,
}


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and it keeps a busy CI
    machine from being oversubscribed (subprocesses get OMP_NUM_THREADS=1).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _runner(tmp_path, max_iters=4, **opts):
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(dict(TINY, **opts))
    cfg.merge_from_dict({
        'train_cfg.max_iters': max_iters,
        'param_scheduler.0.end': max_iters,
        'default_hooks.checkpoint.interval': 1,
    })
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'nan_{tmp_path.name}'
    return Runner.from_cfg(cfg)


class _Poison(Hook):
    """Scale the loss by ``value`` from iteration ``at`` on."""

    def __init__(self, at, value):
        self.at, self.value = at, value

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            runner.model.decode_head.loss_decode.loss_weight = self.value


@pytest.mark.parametrize('value', [math.nan, math.inf])
def test_training_stops_at_the_bad_iteration(tmp_path, value):
    runner = _runner(tmp_path)
    runner.register_hook(_Poison(3, value))
    with pytest.raises(InvalidLossError) as e:
        runner.train()
    message = str(e.value)
    assert 'at iteration 3' in message
    assert f'decode.loss_ce={value}' in message
    assert f'the last checkpoint is {tmp_path}/iter_2.pth' in message
    assert '--resume' in message
    # stopped before the checkpoint hook saved the diverged weights
    assert osp.exists(tmp_path / 'iter_2.pth')
    assert not osp.exists(tmp_path / 'iter_3.pth')


def test_without_the_hook_training_runs_on(tmp_path):
    runner = _runner(tmp_path, max_iters=2, custom_hooks=[])
    runner.register_hook(_Poison(2, math.nan))
    runner.train()
    assert runner.iter == 2
    weights = torch.load(tmp_path / 'iter_2.pth')['state_dict']
    assert not all(torch.isfinite(w).all() for w in weights.values())


def _fake_runner(iteration):
    return SimpleNamespace(
        iter=iteration,
        message_hub=MessageHub.get_instance('test_check_invalid_loss'))


def _outputs(**values):
    return {k.replace('__', '.'): torch.tensor(v) for k, v in values.items()}


def test_only_losses_are_checked_by_default():
    hook = CheckInvalidLossHook()
    hook.after_train_iter(
        _fake_runner(0),
        0,
        outputs=_outputs(
            loss=1.0, decode__loss_ce=1.0, decode__acc_seg=math.nan))
    with pytest.raises(InvalidLossError, match=r'aux\.loss_ce=inf'):
        hook.after_train_iter(
            _fake_runner(0),
            0,
            outputs=_outputs(
                loss=math.inf, decode__loss_ce=1.0, aux__loss_ce=math.inf))


def test_interval():
    hook = CheckInvalidLossHook(interval=2)
    bad = _outputs(loss=math.nan)
    hook.after_train_iter(_fake_runner(0), 0, outputs=bad)  # iteration 1
    with pytest.raises(InvalidLossError, match='at iteration 2 '):
        hook.after_train_iter(_fake_runner(1), 1, outputs=bad)


def test_keys():
    hook = CheckInvalidLossHook(keys='decode.loss_ce')
    hook.after_train_iter(
        _fake_runner(0),
        0,
        outputs=_outputs(loss=math.nan, decode__loss_ce=1.0))
    with pytest.raises(InvalidLossError):
        hook.after_train_iter(
            _fake_runner(0),
            0,
            outputs=_outputs(loss=1.0, decode__loss_ce=math.nan))
    with pytest.raises(KeyError, match='decode.loss_ce'):
        hook.after_train_iter(_fake_runner(0), 0, outputs=_outputs(loss=1.0))


@pytest.mark.parametrize('interval', [0, -1, 1.5])
def test_bad_interval(interval):
    with pytest.raises(ValueError, match='interval'):
        CheckInvalidLossHook(interval=interval)


@pytest.mark.slow
def test_train_tool_prints_one_line(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        OMP_NUM_THREADS='1')
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    res = subprocess.run(
        [
            sys.executable, 'tools/train.py', MINI_CFG, '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + opts + [
            'train_cfg.max_iters=3', 'param_scheduler.0.end=3',
            'model.decode_head.loss_decode.loss_weight=nan'
        ],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=600)
    assert res.returncode == 1
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert res.stderr.strip().splitlines()[-1].startswith(
        'InvalidLossError: loss is not finite at iteration 1 (rank 0: '
        'loss=nan, decode.loss_ce=nan); training stopped, no checkpoint '
        'was saved yet.')
