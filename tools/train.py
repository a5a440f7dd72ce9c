"""Train a segmentor with MMEngine's runner."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_ext.datasets import check_datasets
from mmseg_ext.engine import (MMSegExtError, check_checkpoint, check_work_dir,
                              lock_work_dir)
from mmseg_ext.utils import adapt_env, end_distributed_process


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable mixed precision (fp16)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume:
        cfg.resume = True
    adapt_env(cfg)
    try:
        check_datasets(cfg, ['train_dataloader', 'val_dataloader'])
        check_work_dir(cfg)
        lock_work_dir(cfg)  # one live training run per work_dir
        notes = check_checkpoint(cfg)
        runner = Runner.from_cfg(cfg)
        for note in notes:  # what the checks repaired, into the run's log
            runner.logger.warning(note)
        runner.train()
        del runner  # its dataloader workers end with it
        end_distributed_process()  # a distributed run ends here
    except MMSegExtError as e:  # names the file or option at fault
        raise SystemExit(f'{type(e).__name__}: {e}') from None


if __name__ == '__main__':
    main()
