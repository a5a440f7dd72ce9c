"""Interrupted or damaged checkpoint writes never break ``--resume``.

Checkpoints are saved atomically (the schedule bases' file backend); what
``--resume`` would load is repaired by ``check_checkpoint``, which the tools
run before building the runner.
"""
import os
import os.path as osp
import shutil
import stat
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from mmseg_ext.engine import (AtomicLocalBackend, CheckpointError,
                              SafeCheckpointHook, check_checkpoint)
from mmseg_ext.engine.fileio import TMP_SUFFIX
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
    'default_hooks.checkpoint.interval': 2,
    'default_hooks.checkpoint.max_keep_ckpts': 3,
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


# --- the file backend ---------------------------------------------------


def test_atomic_backend_writes_whole_files(tmp_path):
    path = tmp_path / 'sub' / 'a.pth'
    backend = get_file_backend(backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'first', path)
    backend.put(b'second', path)
    backend.put_text('third', tmp_path / 't.txt')
    assert path.read_bytes() == b'second'
    assert (tmp_path / 't.txt').read_text() == 'third'
    assert sorted(os.listdir(tmp_path)) == ['sub', 't.txt']
    assert os.listdir(tmp_path / 'sub') == ['a.pth']
    # same permissions as a file written with open()
    with open(tmp_path / 'plain', 'wb'):
        pass
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(
        os.stat(tmp_path / 'plain').st_mode)


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / 'a.pth'
    backend = AtomicLocalBackend()
    backend.put(b'complete', path)
    with mock.patch('os.fsync', side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            backend.put(b'x' * 10**6, path)
    assert path.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['a.pth']


@pytest.mark.parametrize('schedule', ['20k', '40k', '80k', '1k_adamw'])
def test_schedules_write_atomically(schedule, tmp_path):
    """The schedule bases choose the atomic backend; the hook saves."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'schedules',
                 f'schedule_{schedule}.py'))
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend='atomic_local')
    hook = HOOKS.build(cfg.default_hooks.checkpoint)
    assert isinstance(hook, SafeCheckpointHook)
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        logger=mock.Mock(),
        message_hub=MessageHub('t'))
    hook.before_train(runner)
    assert isinstance(hook.file_backend, AtomicLocalBackend)


def test_hook_warns_when_it_would_write_in_place(tmp_path):
    init_default_scope('mmseg')
    hook = HOOKS.build(dict(type='SafeCheckpointHook', interval=2))
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        logger=mock.Mock(),
        message_hub=MessageHub('t'))
    with mock.patch(
            'mmseg_ext.engine.hooks.safe_checkpoint_hook.print_log') as log:
        hook.before_train(runner)
    assert "backend_args=dict(backend='atomic_local')" in log.call_args[0][0]


# --- resuming -----------------------------------------------------------


class _Start(Hook):
    """Remember the iteration training starts (or resumes) at."""

    def before_train(self, runner):
        self.iter = runner.iter


def _run(work_dir,
         max_iters,
         checkpoint='SafeCheckpointHook',
         preflight=True,
         **kwargs):
    """Train as ``tools/train.py`` does, with or without its checks."""
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    cfg.merge_from_dict({
        'train_cfg.max_iters': max_iters,
        'param_scheduler.0.end': max_iters,
        'default_hooks.checkpoint.type': checkpoint,
    })
    cfg.update(kwargs)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{osp.basename(work_dir)}_{max_iters}'
    notes = check_checkpoint(cfg) if preflight else []
    runner = Runner.from_cfg(cfg)
    for note in notes:
        runner.logger.warning(note)
    start = _Start()
    runner.register_hook(start)
    runner.train()
    return start.iter


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Four iterations, checkpoints at 2 and 4."""
    work_dir = tmp_path_factory.mktemp('trained')
    _run(work_dir, 4)
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['iter_2.pth', 'iter_4.pth']
    return work_dir


@pytest.fixture
def work_dir(trained, tmp_path):
    """A copy of the trained run, ``last_checkpoint`` -> iter_4."""
    work_dir = tmp_path / 'run'
    shutil.copytree(trained, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    return work_dir


def _truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_resume_skips_a_truncated_newest_checkpoint(work_dir):
    _truncate(work_dir / 'iter_4.pth')
    assert _run(work_dir, 6, resume=True) == 2
    assert osp.exists(work_dir / 'iter_4.pth.damaged')
    assert torch.load(work_dir / 'iter_6.pth')['meta']['iter'] == 6
    log = open(_log(work_dir)).read()
    assert f'checkpoint {work_dir}/iter_4.pth is truncated or damaged' in log
    assert f'resuming from {work_dir}/iter_2.pth instead' in log


def test_plain_checkpoint_hook_dies_on_it(work_dir):
    """The same state kills a resume without the checks of the tools."""
    _truncate(work_dir / 'iter_4.pth')
    with pytest.raises(RuntimeError, match='failed finding central'):
        _run(
            work_dir,
            6,
            checkpoint='CheckpointHook',
            preflight=False,
            resume=True)


def test_resume_with_an_empty_pointer(work_dir):
    """MMEngine writes ``last_checkpoint`` in place; a crash can empty it."""
    (work_dir / 'last_checkpoint').write_text('')
    assert _run(work_dir, 6, resume=True) == 4


def test_resume_with_nothing_intact_names_the_way_out(work_dir):
    os.remove(work_dir / 'iter_2.pth')
    _truncate(work_dir / 'iter_4.pth')
    with pytest.raises(CheckpointError) as e:
        _run(work_dir, 6, resume=True)
    assert 'cannot resume' in str(e.value)
    assert f'remove {work_dir}/last_checkpoint' in str(e.value)


def test_load_from_a_damaged_checkpoint(work_dir):
    _truncate(work_dir / 'iter_2.pth')
    with pytest.raises(CheckpointError, match='iter_2.pth is truncated'):
        _run(work_dir / 'ft', 1, load_from=str(work_dir / 'iter_2.pth'))


def test_copied_work_dir_resumes_from_its_own_checkpoint(trained, tmp_path):
    """``last_checkpoint`` of a copy still names the original's file."""
    copy = tmp_path / 'copy'
    shutil.copytree(trained, copy)
    original = (trained / 'last_checkpoint').read_text()
    assert original == f'{trained}/iter_4.pth'
    # the copy's iter_4.pth holds iteration 2: resuming from it shows
    shutil.copy(copy / 'iter_2.pth', copy / 'iter_4.pth')
    assert _run(copy, 6, resume=True) == 2
    assert (copy /
            'last_checkpoint').read_text().endswith(f'{copy}/iter_6.pth')
    assert (trained / 'last_checkpoint').read_text() == original
    log = open(_log(copy)).read()
    assert (
        f'{copy}/last_checkpoint names {original}, outside {copy} (a '
        f'copied work_dir?): resuming from {copy}/iter_4.pth instead') in log


def _log(work_dir):
    """The log file of the newest run in ``work_dir``."""
    runs = sorted(
        d for d in os.listdir(work_dir)
        if osp.isdir(osp.join(work_dir, d)) and d[0].isdigit())
    return osp.join(work_dir, runs[-1], runs[-1] + '.log')


# --- a real process killed while writing --------------------------------

# Runs tools/train.py; when the checkpoint named by argv[1] is about to be
# renamed into place, cuts the temporary file to half and dies like a
# SIGKILL: the state a kill -9 in the middle of the write leaves behind.
KILL_DURING_WRITE = r'''
import os, runpy, sys
name, real_replace = sys.argv[1], os.replace
def replace(src, dst):
    if os.path.basename(dst) == name:
        os.truncate(src, os.path.getsize(src) // 2)
        os._exit(137)
    real_replace(src, dst)
os.replace = replace
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.mark.slow
def test_killed_during_a_checkpoint_write_then_resume(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        OMP_NUM_THREADS='1')
    args = [
        'tools/train.py', MINI_CFG, '--work-dir',
        str(tmp_path), '--cfg-options'
    ] + [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()
         ] + ['train_cfg.max_iters=6', 'param_scheduler.0.end=6']
    res = subprocess.run(
        [sys.executable, '-c', KILL_DURING_WRITE, 'iter_4.pth'] + args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert res.returncode == 137, res.stderr[-3000:]
    files = os.listdir(tmp_path)
    assert 'iter_2.pth' in files and 'iter_4.pth' not in files
    partial = [f for f in files if f.endswith(TMP_SUFFIX)]
    assert len(partial) == 1 and partial[0].startswith('.iter_4.pth.')
    assert open(tmp_path / 'last_checkpoint').read().endswith('iter_2.pth')
    res = subprocess.run(
        [sys.executable] + args + ['--resume'],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 2' in res.stdout
    assert f'removed {partial[0]}' in res.stdout
    files = os.listdir(tmp_path)
    assert not [f for f in files if f.endswith(TMP_SUFFIX)]
    assert torch.load(tmp_path / 'iter_4.pth')['meta']['iter'] == 4
    assert torch.load(tmp_path / 'iter_6.pth')['meta']['iter'] == 6
