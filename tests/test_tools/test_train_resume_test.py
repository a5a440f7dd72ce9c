"""End to end on real CamVid images: train -> kill -> resume -> test."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from ..conftest import MINI_CFG, REPO

# every test reads the run that the module fixture trains in a subprocess
pytestmark = pytest.mark.slow

FAST = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1', 'randomness.seed=0'
]


def _run(args, **kwargs):
    return subprocess.run(
        [sys.executable] + args,
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=600,
        **kwargs)


def _scalars(work_dir):
    """All ``scalars.json`` records of every run in ``work_dir``."""
    records = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                records += [json.loads(line) for line in f if line.strip()]
    return records


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train 30 iterations, killed (SIGKILL) right after the iteration-4
    checkpoint, then resumed with ``--resume``."""
    work_dir = str(tmp_path_factory.mktemp('e2e'))
    opts = FAST + [
        'train_cfg.max_iters=30', 'train_cfg.val_interval=30',
        'param_scheduler.0.end=30', 'default_hooks.checkpoint.interval=4',
        'default_hooks.checkpoint.max_keep_ckpts=10'
    ]
    args = [
        'tools/train.py', MINI_CFG, '--work-dir', work_dir, '--cfg-options'
    ] + opts
    proc = subprocess.Popen(
        [sys.executable] + args,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    ckpt4 = osp.join(work_dir, 'iter_4.pth')
    deadline = time.time() + 300
    while not osp.exists(ckpt4) and proc.poll() is None:
        assert time.time() < deadline, 'no checkpoint after 300 s'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not osp.exists(osp.join(work_dir, 'iter_30.pth')), \
        'the run finished before it was killed'
    before = _scalars(work_dir)
    res = _run(args + ['--resume'])
    assert res.returncode == 0, res.stderr[-3000:]
    return work_dir, before, res.stdout + res.stderr


def test_resume_continues_from_last_checkpoint(trained):
    work_dir, before, log = trained
    assert 'resumed' in log.lower() or 'resume' in log.lower()
    assert osp.exists(osp.join(work_dir, 'iter_30.pth'))
    after = [r for r in _scalars(work_dir) if 'loss' in r]
    killed_at = max(r['iter'] for r in before if 'loss' in r)
    resumed = [r['iter'] for r in after if r not in before]
    last_ckpt = max(
        int(f[5:-4]) for f in os.listdir(work_dir)
        if f.startswith('iter_') and int(f[5:-4]) <= killed_at)
    # continues right after the last checkpoint, not from iteration 1
    assert min(resumed) == last_ckpt + 1, (resumed, killed_at)
    assert max(resumed) == 30
    # at most one checkpoint interval (4 iterations) of work is lost
    assert killed_at - last_ckpt < 4
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in after)


def test_checkpoint_loads_weights_only(trained):
    work_dir, _, _ = trained
    ckpt = osp.join(work_dir, 'iter_30.pth')
    code = ('import sys, torch\n'
            'try:\n'
            '    torch.load(sys.argv[1], weights_only=True)\n'
            'except Exception as e:\n'
            '    print("REFUSED", type(e).__name__)\n'
            'import mmseg_ext\n'
            'ckpt = torch.load(sys.argv[1], weights_only=True)\n'
            'print("LOADED", sorted(ckpt))\n')
    res = _run(['-c', code, ckpt])
    assert res.returncode == 0, res.stderr[-3000:]
    # plain torch refuses MMEngine's checkpoint; with mmseg_ext it loads,
    # still with weights_only=True
    assert 'REFUSED' in res.stdout
    assert "LOADED ['message_hub', 'meta', 'optimizer'" in res.stdout


def test_test_tool_and_load_from(trained, tmp_path):
    work_dir, _, _ = trained
    ckpt = osp.join(work_dir, 'iter_30.pth')
    show_dir = str(tmp_path / 'show')
    res = _run([
        'tools/test.py', MINI_CFG, ckpt, '--work-dir',
        str(tmp_path), '--show-dir', show_dir, '--cfg-options'
    ] + FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    assert 'mIoU' in out and 'Sky' in out
    pngs = [
        f for _, _, fs in os.walk(show_dir) for f in fs if f.endswith('.png')
    ]
    assert len(pngs) == 24
    # load_from: fine-tune from the checkpoint
    res = _run([
        'tools/train.py', MINI_CFG, '--work-dir',
        str(tmp_path / 'ft'), '--cfg-options'
    ] + FAST + [
        f'load_from={ckpt}', 'train_cfg.max_iters=1',
        'train_cfg.val_interval=100', 'param_scheduler.0.end=1'
    ])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'Load checkpoint from' in res.stdout + res.stderr


def test_inferencer_loads_checkpoint(trained):
    from mmseg.apis import MMSegInferencer
    work_dir, _, _ = trained
    inferencer = MMSegInferencer(
        model=MINI_CFG,
        weights=osp.join(work_dir, 'iter_30.pth'),
        device='cpu')
    img = osp.join(REPO, 'data', 'camvid_mini', 'val', '0016E5_07959.jpg')
    result = inferencer(img, return_datasamples=True)
    assert result.pred_sem_seg.shape == (180, 240)
