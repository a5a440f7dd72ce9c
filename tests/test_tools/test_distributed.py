"""Two gloo processes on CPU through tools/dist_train.sh and dist_test.sh.

A few SGD iterations of a narrow FCN-8s on real CamVid images (the
embedded subset), 2 processes x 2 images against 1 process x 4 images.

What has to agree and why:

- Ranks: DDP starts every rank from rank 0's weights and all-reduces the
  gradients, so the parameters of the two processes are bit-identical.
- 2 x 2 against 1 x 4, same global batch: the model has no BatchNorm and
  no dropout, and the pipeline no random augmentation, so both runs compute
  the same function of the same four images (``InfiniteSampler`` without
  shuffling gives rank 0 images 0, 2 and rank 1 images 1, 3 of each group of
  four, exactly the 1-process batch). The mean loss over all pixels of a
  rank, averaged over ranks by DDP, equals the mean over the whole batch.
  What differs is the order of float32 sums (per-rank means, then the
  all-reduce), a few units in the last place per step: measured at most
  2.4e-7 on the losses and 6e-8 on any weight after 6 steps. The tolerance,
  ``atol=1e-5, rtol=1e-4``, leaves 100x room for that and still fails on a
  real difference: a wrong global batch (2 x 2 against 1 x 2) moves weights
  by 6e-2, and BatchNorm, which normalises each process's two images
  separately, by 8e-2 (with BN only SyncBN would match, and SyncBN needs
  CUDA).
- ``dist_test.sh`` against ``test.py`` on the same checkpoint: IoUMetric
  sums per-image areas that MMEngine collects back into dataset order, so
  aAcc, mIoU and mAcc (reported rounded to 0.01) must be equal, not merely
  close (both with one thread per process, as torchrun sets).
"""
import glob
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

import pytest
import torch

from ..conftest import CAMVID_MINI, MINI_CFG, REPO

ITERS = 6

RANK_DUMP = '''
import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankDumpHook(Hook):
    """Each process saves its own weights and losses."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_train(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        torch.save(
            dict(state_dict={k: v.detach().clone()
                             for k, v in model.state_dict().items()},
                 losses=self.losses, world_size=get_world_size()),
            f'{runner.work_dir}/rank{get_rank()}.pth')
'''

CONFIG = f'''
_base_ = {MINI_CFG!r}
custom_imports = dict(
    imports=['mmseg_ext', 'rank_dump'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        norm_cfg=None,
        stage_channels=(4, 8, 8, 16, 16),
        fc_channels=16,
        fc_dropout=0),
    decode_head=dict(in_channels=[8, 16, 16]))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=False),
    dataset=dict(data_root={CAMVID_MINI!r}, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root={CAMVID_MINI!r}))
test_dataloader = val_dataloader
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = []
train_cfg = dict(max_iters={ITERS}, val_begin=1000)
default_hooks = dict(
    checkpoint=dict(interval={ITERS}), logger=dict(interval=1))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='CheckInvalidLossHook'),
    dict(type='CheckSegDataHook'),
    dict(type='RankDumpHook')
]
'''


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    (root / 'rank_dump.py').write_text(RANK_DUMP)
    (root / 'cfg.py').write_text(CONFIG)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO, str(root), os.environ.get('PYTHONPATH', '')])
    return root, env


def _run(cmd, env, **extra):
    res = subprocess.run(
        cmd,
        cwd=REPO,
        env=dict(env, **extra),
        text=True,
        capture_output=True,
        timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return res


@pytest.fixture(scope='module')
def trained(setup):
    """The same training with 2 processes x 2 images and 1 x 4."""
    root, env = setup
    cfg = str(root / 'cfg.py')
    res = _run([
        'bash', 'tools/dist_train.sh', cfg, '2', '--work-dir',
        str(root / 'two')
    ],
               env,
               PORT=_free_port())
    assert 'Distributed launcher: pytorch' in res.stdout + res.stderr
    _run([
        sys.executable, 'tools/train.py', cfg, '--work-dir',
        str(root / 'one'), '--cfg-options', 'train_dataloader.batch_size=4'
    ], env)
    dumps = {}
    for name in ('two/rank0', 'two/rank1', 'one/rank0'):
        dumps[name] = torch.load(root / f'{name}.pth')
    return root, env, dumps


@pytest.mark.slow
def test_two_processes_ran(trained):
    _, _, dumps = trained
    assert dumps['two/rank0']['world_size'] == 2
    assert dumps['one/rank0']['world_size'] == 1
    assert len(dumps['two/rank1']['losses']) == ITERS


@pytest.mark.slow
def test_ranks_agree_on_weights(trained):
    root, _, dumps = trained
    rank0 = dumps['two/rank0']['state_dict']
    rank1 = dumps['two/rank1']['state_dict']
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    # the checkpoint (written by rank 0) holds those weights
    ckpt = torch.load(root / 'two' / f'iter_{ITERS}.pth')['state_dict']
    for key in rank0:
        assert torch.equal(ckpt[key], rank0[key]), key
    # the ranks saw different images
    assert dumps['two/rank0']['losses'] != dumps['two/rank1']['losses']


@pytest.mark.slow
def test_matches_one_process_with_the_same_global_batch(trained):
    _, _, dumps = trained
    two = (torch.tensor(dumps['two/rank0']['losses']) +
           torch.tensor(dumps['two/rank1']['losses'])) / 2
    one = torch.tensor(dumps['one/rank0']['losses'])
    torch.testing.assert_close(two, one, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(one[1:], one[0])  # the loss moved
    weights_two = dumps['two/rank0']['state_dict']
    weights_one = dumps['one/rank0']['state_dict']
    for key, value in weights_one.items():
        torch.testing.assert_close(
            weights_two[key], value, atol=1e-5, rtol=1e-4, msg=key)


def _metrics(work_dir):
    """The metrics ``runner.test()`` wrote to ``TIMESTAMP.json``."""
    found = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(found) == 1, found
    with open(found[0]) as f:
        return json.load(f)


@pytest.mark.slow
def test_dist_test_reports_the_same_miou_as_test_py(trained):
    root, env, _ = trained
    cfg = str(root / 'cfg.py')
    ckpt = str(root / 'one' / f'iter_{ITERS}.pth')
    _run([
        'bash', 'tools/dist_test.sh', cfg, ckpt, '2', '--work-dir',
        str(root / 'test_two')
    ],
         env,
         PORT=_free_port())
    _run([
        sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir',
        str(root / 'test_one')
    ], env)
    two, one = _metrics(root / 'test_two'), _metrics(root / 'test_one')
    keys = ('aAcc', 'mIoU', 'mAcc')
    assert [two[k] for k in keys] == [one[k] for k in keys]
    assert one['mIoU'] > 0


# --- Slurm scripts (no Slurm here: syntax, arguments, the srun call) -----


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_script_syntax_and_usage(script, tmp_path):
    path = osp.join(REPO, 'tools', script)
    subprocess.run(['bash', '-n', path], check=True)
    res = subprocess.run(['bash', path, 'part'],
                         capture_output=True,
                         text=True)
    assert res.returncode == 2 and res.stderr.startswith('usage:')
    env = dict(os.environ, PATH=str(tmp_path))  # no srun on PATH
    res = subprocess.run(['/bin/bash', path, 'p', 'j', 'c.py', 'x.pth'],
                         capture_output=True,
                         text=True,
                         env=env)
    assert res.returncode == 127 and 'srun not found' in res.stderr


SRUN = '''#!/bin/bash
printf '%s\\n' "$@" > "$SRUN_LOG"
echo "PYTHONPATH=$PYTHONPATH" >> "$SRUN_LOG"
echo "MASTER_PORT=$MASTER_PORT" >> "$SRUN_LOG"
'''


@pytest.mark.parametrize('script,args,tool', [
    ('slurm_train.sh', ['c.py', '--resume', '--cfg-options', 'a=1 2'
                        ], 'train.py'),
    ('slurm_test.sh', ['c.py', 'x.pth', '--out', 'o d'], 'test.py'),
])
def test_slurm_script_calls_srun(script, args, tool, tmp_path):
    srun = tmp_path / 'srun'
    srun.write_text(SRUN)
    srun.chmod(0o755)
    log = tmp_path / 'srun.log'
    env = dict(
        os.environ,
        PATH=f'{tmp_path}:{os.environ["PATH"]}',
        SRUN_LOG=str(log),
        GPUS='16',
        GPUS_PER_NODE='8',
        SRUN_ARGS='--quotatype=auto --exclusive',
        PYTHON='py')
    subprocess.run(
        ['bash', osp.join(REPO, 'tools', script), 'gpu', 'job'] + args,
        check=True,
        env=env)
    argv = log.read_text().splitlines()
    assert argv[:8] == [
        '-p', 'gpu', '--job-name=job', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1'
    ]
    assert argv[8:10] == ['--quotatype=auto', '--exclusive']
    assert argv[10:13] == ['py', '-u', osp.join(REPO, 'tools', tool)]
    rest = argv[13:-2]
    assert rest[rest.index('--launcher') + 1] == 'slurm'
    rest.remove('--launcher')
    rest.remove('slurm')
    assert rest == args  # arguments with spaces stay single words
    assert argv[-2].startswith(f'PYTHONPATH={REPO}/tools/..')
    assert argv[-1] == 'MASTER_PORT=29500'


def test_shell_scripts_are_executable():
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
                   'slurm_test.sh'):
        assert os.access(osp.join(REPO, 'tools', script), os.X_OK), script
    assert shutil.which('bash')


def test_end_distributed_process_without_a_group_returns():
    import torch.distributed as dist

    from mmseg_ext.utils import end_distributed_process
    assert not dist.is_initialized()
    end_distributed_process()  # returns: a plain run ends normally
    assert not dist.is_initialized()


END_SCRIPT = '''
import atexit, logging, sys
sys.stdout = open(1, 'w', closefd=False)  # buffered, as without python -u
import torch, torch.distributed as dist
from mmseg_ext.utils import end_distributed_process

dist.init_process_group('gloo')
rank = dist.get_rank()
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Conv2d(3, 4, 3))
model(torch.randn(1, 3, 8, 8)).sum().backward()  # gloo all-reduces
log = logging.getLogger('end')
log.addHandler(logging.FileHandler(sys.argv[1] + f'.rank{rank}.log'))
log.warning('logged by rank %d', rank)
print(f'printed by rank {rank}', end='')  # still in the buffer
atexit.register(lambda: open(sys.argv[1] + '.finalized', 'w').close())
end_distributed_process()
print('after end_distributed_process')
'''


@pytest.mark.slow
def test_end_distributed_process_flushes_and_skips_finalization(
        setup, tmp_path):
    """Both ranks exit 0 with every line out, without finalization.

    Interpreter finalization is where a gloo worker thread releasing a
    finished collective aborts the process (see the function's docstring);
    the atexit handler shows it never runs. The print left in a buffered
    stdout (torchrun itself starts ``python -u``, other launchers may not)
    and the FileHandler show that streams and logs are flushed first.
    """
    _, env = setup
    script = tmp_path / 'end.py'
    script.write_text(END_SCRIPT)
    base = str(tmp_path / 'out')
    res = _run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={_free_port()}',
        str(script), base
    ], env)
    for rank in (0, 1):
        assert f'printed by rank {rank}' in res.stdout
        with open(f'{base}.rank{rank}.log') as f:
            assert f.read() == f'logged by rank {rank}\n'
    assert 'after end_distributed_process' not in res.stdout
    assert not osp.exists(base + '.finalized')
