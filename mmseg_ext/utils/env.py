"""Fit a config's runtime settings to the machine it runs on."""
import torch
from mmengine.config import Config
from mmengine.logging import print_log


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
    runner already reverts SyncBN. On CUDA machines nothing changes.
    """
    if torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    if cfg.get('launcher', 'none') != 'none':
        if _replace_sync_bn(cfg.get('model', {})):
            print_log('no CUDA: SyncBN replaced by BN for this CPU run',
                      logger='current')
    return cfg
