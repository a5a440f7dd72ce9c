"""The work_dir: one live training run at a time, and one-line errors."""
import errno
import os
import os.path as osp
import signal
import subprocess
import sys
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_ext.engine import WorkDirError, check_work_dir, lock_work_dir
from ..conftest import CAMVID_MINI, MINI_CFG, REPO

TINY = {
    'model.backbone.stage_channels': (4, 8, 8, 16, 16),
    'model.backbone.fc_channels': 16,
    'model.decode_head.in_channels': [8, 16, 16],
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.data_root': CAMVID_MINI,
    'train_cfg.max_iters': 1,
    'train_cfg.val_begin': 1000,
    'param_scheduler.0.end': 1,
    'randomness.seed': 0,
}
ENV = dict(
    os.environ,
    PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
    OMP_NUM_THREADS='1')

# Holds the lock of argv[1] as tools/train.py does, until killed.
HOLD = r'''
import sys, time
from mmengine.config import Config
from mmseg_ext.engine import lock_work_dir
lock_work_dir(Config(dict(work_dir=sys.argv[1])))
print('locked', flush=True)
time.sleep(900)
'''


def _train(work_dir, *args):
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    return subprocess.run(
        [
            sys.executable, 'tools/train.py', MINI_CFG, '--work-dir',
            str(work_dir)
        ] + list(args) + ['--cfg-options'] + opts,
        cwd=REPO,
        env=ENV,
        text=True,
        capture_output=True,
        timeout=900)


def _error_line(stderr, kind='WorkDirError'):
    lines = [ln for ln in stderr.splitlines() if ln.startswith(kind)]
    assert len(lines) == 1, stderr[-3000:]
    assert 'Traceback' not in stderr, stderr[-3000:]
    return lines[0]


@pytest.mark.slow
def test_second_live_run_is_refused_and_kill_9_frees_the_work_dir(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c', HOLD, str(tmp_path)],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        res = _train(tmp_path)
        assert res.returncode != 0
        line = _error_line(res.stderr)
        assert line.startswith(
            f'WorkDirError: work_dir {tmp_path} is in use by another '
            f'training run (pid {holder.pid} on ')
        assert not [f for f in os.listdir(tmp_path) if f[0].isdigit()], \
            'the refused run wrote a log'
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel released the lock with the process: --resume goes ahead
    res = _train(tmp_path, '--resume')
    assert res.returncode == 0, res.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_1.pth')


def test_lock_is_taken_once_per_process(tmp_path):
    cfg = Config(dict(work_dir=str(tmp_path)))
    lock_work_dir(cfg)
    lock_work_dir(cfg)  # the same run again: no error, lock kept
    content = (tmp_path / '.train.lock').read_text()
    assert content.startswith(f'pid {os.getpid()} on ')


@pytest.mark.skipif(not osp.isdir('/proc/self'), reason='needs /proc')
def test_work_dir_that_cannot_be_created(tmp_path):
    with pytest.raises(WorkDirError) as e:
        check_work_dir(Config(dict(work_dir='/proc/forbidden')))
    assert str(e.value) == ('cannot create work_dir /proc/forbidden: /proc '
                            'does not allow creating folders in it')
    blocker = tmp_path / 'file'
    blocker.write_text('')
    with pytest.raises(WorkDirError) as e:
        check_work_dir(Config(dict(work_dir=str(blocker / 'run'))))
    assert str(e.value) == (f'cannot create work_dir {blocker}/run: '
                            f'{blocker} is a file, not a folder')


@pytest.mark.parametrize('code, cause',
                         [(errno.EACCES, 'permission denied'),
                          (errno.EROFS, 'read-only file system')])
def test_work_dir_that_cannot_be_written(tmp_path, code, cause):
    error = OSError(code, os.strerror(code), str(tmp_path))
    with mock.patch('tempfile.mkstemp', side_effect=error):
        with pytest.raises(WorkDirError) as e:
            check_work_dir(Config(dict(work_dir=str(tmp_path))))
    assert str(e.value) == f'work_dir {tmp_path} is not writable: {cause}'


@pytest.mark.slow
def test_train_tool_reports_a_bad_work_dir_in_one_line(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    res = _train(blocker / 'run')
    assert res.returncode != 0
    assert _error_line(res.stderr) == (
        f'WorkDirError: cannot create work_dir {blocker}/run: {blocker} is '
        'a file, not a folder')


def test_full_disk_names_the_file_and_the_last_checkpoint(tmp_path):
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    cfg.merge_from_dict({
        'train_cfg.max_iters': 4,
        'param_scheduler.0.end': 4,
        'default_hooks.checkpoint.interval': 2,
    })
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'full_disk'
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second checkpoint
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    runner = Runner.from_cfg(cfg)
    with mock.patch('os.fsync', fsync):
        with pytest.raises(WorkDirError) as e:
            runner.train()
    assert str(e.value) == (
        f'no space left on device while saving {tmp_path}/iter_4.pth: the '
        f'last complete checkpoint is {tmp_path}/iter_2.pth; make room and '
        'continue with --resume')
    files = os.listdir(tmp_path)
    assert 'iter_4.pth' not in files
    assert not [f for f in files if f.endswith('.partial')]
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')
    assert torch.load(tmp_path / 'iter_2.pth')['meta']['iter'] == 2
