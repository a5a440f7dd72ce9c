"""Fit a config's runtime settings to the machine it runs on."""
import os
import subprocess
import warnings
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel


def silence_pkg_resources_warning() -> None:
    """Hide setuptools' deprecation notice for ``pkg_resources``.

    MMEngine 0.10 imports (and re-imports) ``pkg_resources`` to find mmseg's
    installed configs whenever a config inherits an ``mmseg::`` base, and
    setuptools >= 80 warns on every import: eight lines at the start of each
    run that a new user reads as errors. Only that message is filtered;
    every other warning shows as before.
    """
    warnings.filterwarnings(
        'ignore',
        message='pkg_resources is deprecated as an API',
        category=UserWarning)


def _replace_sync_bn(node) -> int:
    """Turn every ``SyncBN`` norm config into ``BN`` in place."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_sync_bn(value)
    return count


def adapt_env(cfg: Config) -> Config:
    """Choose the distributed backend and norm layers for this machine.

    Without CUDA, NCCL and SyncBN cannot run: the backend becomes ``gloo``
    unless the config names another, and a distributed run uses plain BN
    (each process normalises its own batch). On a single process MMEngine's
    runner already reverts SyncBN. A distributed CPU run also gets a DDP
    wrapper without ``device_ids`` and its process group started here (see
    :func:`_init_cpu_process_group`). On CUDA machines nothing changes.
    """
    if torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.get('launcher', 'none') != 'none':
        if _replace_sync_bn(cfg.get('model', {})):
            print_log(
                'no CUDA: SyncBN replaced by BN for this CPU run',
                logger='current')
        # MMEngine 0.10 hands DDP device_ids=[LOCAL_RANK], which DDP refuses
        # for a CPU module; a value in the config wins over that default
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        if issubclass(
                MODEL_WRAPPERS.get(wrapper['type']), DistributedDataParallel):
            wrapper.setdefault('device_ids', None)
        cfg.model_wrapper_cfg = wrapper
        _init_cpu_process_group(cfg)
    return cfg


def _init_cpu_process_group(cfg: Config) -> None:
    """Start the process group that MMEngine 0.10 cannot start on CPU.

    Its ``init_dist`` calls ``torch.cuda.set_device(local_rank)`` first,
    which fails without CUDA; the runner skips ``init_dist`` when a group
    exists. The environment comes from ``torchrun`` (``--launcher
    pytorch``) or, as MMEngine derives it, from Slurm (``--launcher
    slurm``).
    """
    if dist.is_initialized():
        return
    launcher = cfg.launcher
    if launcher == 'slurm':
        node_list = os.environ['SLURM_NODELIST']
        os.environ.setdefault(
            'MASTER_ADDR',
            subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1'))
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['RANK'] = os.environ['SLURM_PROCID']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    elif launcher != 'pytorch':
        return  # mpi: left to MMEngine
    kwargs = dict(cfg.env_cfg.dist_cfg)
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = timedelta(seconds=kwargs['timeout'])
    dist.init_process_group(**kwargs)


def close_process_group() -> None:
    """Wait for every rank, then destroy the default process group.

    A process that exits with its gloo process group still alive can abort
    at interpreter shutdown ("terminate called without an active
    exception", SIGABRT) while another rank is still working, e.g. rank 0
    writing the test metrics: ``tools/dist_test.sh`` then failed after a
    successful test (2 of 8 runs on a 2-core CPU). The tools call
    this when the runner is done; without a process group it does nothing.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
