"""Fit a config's runtime settings to the machine it runs on."""
import gc
import logging
import os
import subprocess
import sys
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


def end_distributed_process() -> None:
    """End a distributed tool's process once every rank is done.

    Waits for all ranks, destroys the default process group, flushes the
    logs and standard streams, then leaves with ``os._exit(0)``, without
    interpreter finalization. Outside a process group it does nothing and
    the process ends normally.

    Why not simply return: the gloo backend frees a finished collective on
    one of its own worker threads, and when that collective's tensors are
    visible to Python the thread takes the GIL to release them. If this
    happens while CPython 3.11 finalizes, the thread is told to exit
    (``pthread_exit``), which unwinds through a ``noexcept`` destructor:
    ``std::terminate``, "terminate called without an active exception",
    SIGABRT (core dump: ``ProcessGroupGloo::AsyncWork::~AsyncWork`` ->
    ``TensorImpl::decref_pyobject`` -> ``take_gil`` -> ``pthread_exit``).
    ``destroy_process_group()`` does not stop those threads while the
    runner's DistributedDataParallel still refers to the group, and a
    barrier before it only narrows the window: ``tools/dist_test.sh``
    aborted after a successful test in 3 of 24 runs with a plain exit, and
    with a barrier and ``destroy_process_group()`` still failed in CI.
    Nothing is left to run at that point: checkpoints, metrics and logs are
    written and the work_dir lock is a POSIX lock the kernel releases.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()  # the caller's dropped runner: dataloader workers end
    dist.barrier()  # every rank has written what it writes
    dist.destroy_process_group()
    logging.shutdown()  # flush and close MMEngine's log files
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
