"""Loading a checkpoint never runs code from it.

A real checkpoint gets a pickled ``__reduce__`` payload (it would create a
marker directory); ``tools/test.py``, ``--resume``, ``load_from`` and the
inferencer must refuse it with a clear error and the marker must not appear,
while our own checkpoints load with ``weights_only=True``.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_ext.engine import (CheckpointError, UnsafeCheckpointError,
                              verify_checkpoint)
from .conftest import CAMVID_MINI, MINI_CFG, REPO

TINY = {
    'model.backbone.stage_channels': (4, 8, 8, 16, 16),
    'model.backbone.fc_channels': 16,
    'model.decode_head.in_channels': [8, 16, 16],
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset.data_root': CAMVID_MINI,
    'train_cfg.max_iters': 2,
    'train_cfg.val_begin': 1000,
    'param_scheduler.0.end': 2,
    'default_hooks.checkpoint.interval': 2,
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


class _Payload:
    """Unpickling this calls ``os.mkdir(marker)``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker, )


def _cfg(work_dir, **kwargs):
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    cfg.update(kwargs)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'security_{osp.basename(work_dir)}'
    return cfg


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    """A checkpoint written by MMEngine's runner (2 iterations)."""
    work_dir = tmp_path_factory.mktemp('clean')
    Runner.from_cfg(_cfg(work_dir)).train()
    return str(work_dir / 'iter_2.pth')


@pytest.fixture
def planted(clean, tmp_path, monkeypatch):
    """``clean`` with a payload in its meta data."""
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    marker = str(tmp_path / 'PAYLOAD_RAN')
    ckpt = torch.load(clean, weights_only=True)
    ckpt['meta']['note'] = _Payload(marker)
    path = str(tmp_path / 'iter_4.pth')
    torch.save(ckpt, path)
    yield path, marker
    assert not osp.exists(marker), 'the payload ran'


def _tool(*args):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    return subprocess.run(
        [sys.executable] + list(args) + ['--cfg-options'] + opts,
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=600)


def _refusal(stderr, path):
    lines = [
        ln for ln in stderr.splitlines()
        if ln.startswith('UnsafeCheckpointError')
    ]
    assert lines, stderr[-3000:]
    assert 'Traceback' not in stderr
    assert lines[0].startswith(
        f'UnsafeCheckpointError: refused to load checkpoint {path}: it '
        'refers to posix.mkdir')


def test_own_checkpoints_load_weights_only(clean):
    verify_checkpoint(clean)
    ckpt = torch.load(clean, weights_only=True)
    assert {'state_dict', 'optimizer', 'message_hub', 'meta'} <= set(ckpt)
    # nothing in it beyond tensors, containers and the allowlisted types
    assert torch.serialization.get_unsafe_globals_in_checkpoint(clean) == []


def test_the_payload_is_live(planted):
    """Control: an unrestricted unpickler runs it."""
    path, marker = planted
    torch.load(path, weights_only=False)
    assert osp.isdir(marker)
    os.rmdir(marker)


@pytest.mark.slow
def test_test_tool_refuses(planted):
    path, _ = planted
    res = _tool('tools/test.py', MINI_CFG, path, '--work-dir',
                osp.dirname(path) + '/test')
    assert res.returncode != 0
    _refusal(res.stderr, path)


@pytest.mark.slow
def test_resume_refuses_and_does_not_skip_it(clean, planted):
    """An unsafe newest checkpoint is an alarm, not a damaged file."""
    path, _ = planted
    work_dir = osp.dirname(path)
    os.link(clean, osp.join(work_dir, 'iter_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(path)
    res = _tool('tools/train.py', MINI_CFG, '--work-dir', work_dir, '--resume')
    assert res.returncode != 0
    _refusal(res.stderr, path)
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))


@pytest.mark.parametrize('hook', ['SafeCheckpointHook', 'CheckpointHook'])
def test_load_from_refuses(planted, tmp_path, hook):
    """Our hook names the file; without it torch still refuses."""
    path, _ = planted
    cfg = _cfg(tmp_path / hook, load_from=path)
    cfg.default_hooks.checkpoint.type = hook
    error = UnsafeCheckpointError if hook == 'SafeCheckpointHook' else (
        pickle.UnpicklingError)
    with pytest.raises(error, match='mkdir'):
        Runner.from_cfg(cfg).train()


def test_load_from_own_checkpoint(clean, tmp_path):
    cfg = _cfg(tmp_path, load_from=clean)
    cfg.merge_from_dict({'train_cfg.max_iters': 1})
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1


def _inferencer(weights):
    from mmseg.apis import MMSegInferencer
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    return MMSegInferencer(model=cfg, weights=weights, device='cpu')


def test_inferencer_refuses(planted, clean):
    path, _ = planted
    with pytest.raises(pickle.UnpicklingError, match='posix.mkdir'):
        _inferencer(path)
    img = osp.join(CAMVID_MINI, 'val', '0016E5_07959.jpg')
    result = _inferencer(clean)(img, return_datasamples=True)
    assert result.pred_sem_seg.shape == (180, 240)


# --- checkpoints written with numpy 1 ------------------------------------

try:
    from numpy._core import multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray


def _save_as_numpy1(ckpt, path, names):
    """``torch.save`` whose pickle names objects as numpy 1 wrote them.

    ``names`` maps an object to the ``module.name`` its GLOBAL gets.
    """

    class Pickler(pickle._Pickler):

        def save_global(self, obj, name=None):
            for known, spelling in names:
                if obj is known:
                    module, _, attr = spelling.rpartition('.')
                    self.write(pickle.GLOBAL +
                               f'{module}\n{attr}\n'.encode('ascii'))
                    self.memoize(obj)
                    return
            super().save_global(obj, name)

    class PickleModule:
        __name__ = 'numpy1_pickle'

    PickleModule.Pickler = Pickler
    torch.save(ckpt, path, pickle_module=PickleModule)
    with zipfile.ZipFile(path) as z:
        return b''.join(
            z.read(n) for n in z.namelist() if n.endswith('data.pkl'))


NUMPY1 = [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
          (multiarray.scalar, 'numpy.core.multiarray.scalar')]


def test_numpy1_checkpoint_loads(clean, tmp_path):
    """Checkpoints saved before numpy 2 name numpy.core, not numpy._core."""
    ckpt = torch.load(clean, weights_only=True)
    path = str(tmp_path / 'numpy1.pth')
    data = _save_as_numpy1(ckpt, path, NUMPY1)
    assert b'numpy.core.multiarray\n_reconstruct' in data
    assert b'numpy.core.multiarray\nscalar' in data
    assert b'numpy._core' not in data
    verify_checkpoint(path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['iter'] == ckpt['meta']['iter'] == 2
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(loaded['state_dict'][key], value), key
    scalars = loaded['message_hub']['log_scalars']
    assert scalars.keys() == ckpt['message_hub']['log_scalars'].keys()
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []


def test_numpy1_names_are_allowed_exactly(clean, tmp_path):
    """Only the names numpy 1 pickled with; numpy.core stays closed."""
    ckpt = torch.load(clean, weights_only=True)
    path = str(tmp_path / 'other.pth')
    _save_as_numpy1(ckpt, path,
                    NUMPY1 + [(np.ndarray, 'numpy.core.multiarray.ndarray')])
    with pytest.raises(
            UnsafeCheckpointError, match='numpy.core.multiarray.ndarray'):
        verify_checkpoint(path)


# --- the APIs refuse in one line, as the tools do -------------------------


def _one_line(error, path, start):
    message = str(error)
    assert '\n' not in message
    assert message.startswith(start.format(path=path)), message
    assert 'weights_only=False' not in message
    assert error.__cause__ is None and error.__suppress_context__


def test_init_model_refuses_in_one_line(planted, tmp_path):
    from mmseg.apis import init_model
    path, _ = planted
    with pytest.raises(UnsafeCheckpointError) as e:
        init_model(_cfg(tmp_path), path, device='cpu')
    _one_line(e.value, path, 'refused to load checkpoint {path}: it refers '
              'to posix.mkdir')
    damaged = str(tmp_path / 'damaged.pth')
    with open(path, 'rb') as src, open(damaged, 'wb') as dst:
        dst.write(src.read()[:1000])
    with pytest.raises(CheckpointError) as e:
        init_model(_cfg(tmp_path), damaged, device='cpu')
    _one_line(e.value, damaged, 'checkpoint {path} is truncated or damaged')


def test_inferencer_refuses_in_one_line(planted):
    path, _ = planted
    with pytest.raises(UnsafeCheckpointError) as e:
        _inferencer(path)
    _one_line(e.value, path, 'refused to load checkpoint {path}: it refers '
              'to posix.mkdir')
