"""Inference speed (images per second) of a segmentor on its test set.

mmseg's ``benchmark.py`` with the same arguments and json output. mmseg
1.2.2's tool records a run only when it reaches its 200th image, so a test
set of fewer than 200 images (CamVid val has 101) gives
``average_fps: NaN``; this one times up to 200 images, or all of them after
the 5 warm-up images when there are fewer, and says how many it timed::

    python tools/analysis_tools/benchmark.py CONFIG CHECKPOINT
"""
import argparse
import os.path as osp
import time

import numpy as np
import torch
from mmengine import Config, DictAction
from mmengine.fileio import dump
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import mkdir_or_exist
from mmseg.registry import MODELS

NUM_WARMUP = 5
TOTAL_ITERS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='MMSeg benchmark a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--log-interval', type=int, default=50, help='interval of logging')
    parser.add_argument(
        '--work-dir',
        help=('if specified, the results will be dumped '
              'into the directory as json'))
    parser.add_argument('--repeat-times', type=int, default=1)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def time_model(model, data_loader, log_interval: int) -> tuple:
    """Images per second over up to ``TOTAL_ITERS`` images, after
    ``NUM_WARMUP``; returns (fps, number of timed images)."""
    pure_inf_time, timed, seen = 0., 0, 0
    for i, data in enumerate(data_loader):
        seen += 1
        data = model.data_preprocessor(data, False)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            model(data['inputs'], data['data_samples'], mode='predict')
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        if i >= NUM_WARMUP:
            pure_inf_time += elapsed
            timed += 1
            if (i + 1) % log_interval == 0:
                print(f'Done image [{i + 1:<3}/ {TOTAL_ITERS}], '
                      f'fps: {timed / pure_inf_time:.2f} img / s')
        if i + 1 == TOTAL_ITERS:
            break
    if not timed:
        raise SystemExit(f'the test set has {seen} images; at least '
                         f'{NUM_WARMUP + 1} are needed ({NUM_WARMUP} for '
                         'warm-up)')
    return timed / pure_inf_time, timed


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} does not exist')
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    work_dir = args.work_dir or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    mkdir_or_exist(osp.abspath(work_dir))
    json_file = osp.join(work_dir, f'fps_{timestamp}.json')

    torch.backends.cudnn.benchmark = False
    cfg.model.pretrained = None
    cfg.model.train_cfg = None
    cfg.test_dataloader.batch_size = 1
    benchmark_dict = dict(config=args.config, unit='img / s')
    overall_fps_list = []
    for time_index in range(args.repeat_times):
        print(f'Run {time_index + 1}:')
        data_loader = Runner.build_dataloader(cfg.test_dataloader)
        model = MODELS.build(cfg.model)
        load_checkpoint(model, args.checkpoint, map_location='cpu')
        if torch.cuda.is_available():
            model = model.cuda()
        model = revert_sync_batchnorm(model).eval()
        fps, timed = time_model(model, data_loader, args.log_interval)
        print(f'Overall fps: {fps:.2f} img / s ({timed} images timed)\n')
        benchmark_dict[f'overall_fps_{time_index + 1}'] = round(fps, 2)
        overall_fps_list.append(fps)
    benchmark_dict['average_fps'] = round(float(np.mean(overall_fps_list)), 2)
    benchmark_dict['fps_variance'] = round(float(np.var(overall_fps_list)), 4)
    benchmark_dict['timed_images'] = timed
    print(f'Average fps of {args.repeat_times} evaluations: '
          f'{benchmark_dict["average_fps"]}')
    print(f'The variance of {args.repeat_times} evaluations: '
          f'{benchmark_dict["fps_variance"]}')
    dump(benchmark_dict, json_file, indent=4)


if __name__ == '__main__':
    main()
