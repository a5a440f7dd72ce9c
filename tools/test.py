"""Test (and optionally visualise) a segmentor with MMEngine's runner."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmseg_ext.datasets import check_datasets
from mmseg_ext.engine import MMSegExtError, check_checkpoint, check_work_dir
from mmseg_ext.models.utils import FAST_CLI_CHOICES, add_fast_argument
from mmseg_ext.utils import adapt_env, end_distributed_process


def parse_args():
    parser = argparse.ArgumentParser(description='Test a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument(
        '--out', help='the dir to save the predicted label maps')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='the dir to save every image drawn with its prediction')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    add_fast_argument(parser)
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
    if args.fast:
        if cfg.model.get('type') != 'CRFEncoderDecoder':
            raise SystemExit('--fast needs model.type=CRFEncoderDecoder (as '
                             f'in this package\'s configs), {args.config} '
                             f'has {cfg.model.get("type")}')
        cfg.model.test_cfg = dict(
            cfg.model.get('test_cfg') or {}, fast=FAST_CLI_CHOICES[args.fast])
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.draw = True
        hook.show = args.show
        hook.wait_time = args.wait_time
        if args.show_dir:
            cfg.visualizer.save_dir = args.show_dir
            hook.interval = 1  # an overlay for every image
    if args.out is not None:
        cfg.test_evaluator.update(output_dir=args.out, keep_results=True)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    adapt_env(cfg)
    try:
        check_datasets(cfg, ['test_dataloader'])
        check_work_dir(cfg)
        check_checkpoint(cfg)
        runner = Runner.from_cfg(cfg)
        runner.test()
        del runner  # its dataloader workers end with it
        end_distributed_process()  # a distributed run ends here
    except MMSegExtError as e:  # names the file or option at fault
        raise SystemExit(f'{type(e).__name__}: {e}') from None


if __name__ == '__main__':
    main()
