"""The data loader's real cost in a training step: the runner against the
same steps over preloaded batches.

``data_time`` (what MMEngine logs and ``data_time.py`` sums) is only the
wait for the next batch. On a machine with few cores the loader's workers
cost more than that: they decode and augment on the cores the training
step runs on, so the step itself gets slower while ``data_time`` stays near
zero. This script measures the whole cost. For each config it builds
MMEngine's ``Runner`` (validation and checkpoints off), trains ``--iters``
iterations and takes the median iteration time of the last ``--measure``
(the first epoch fills the loaders' caches); then it draws ``--batches``
batches from a fresh loader of the same config into memory and times
``model.train_step`` on them, cycled, as many times, with the same model
and optimizer. The ratio is the runner's step over the preloaded step::

    python benchmarks/data_share.py CONFIG [CONFIG ...] [--iters 300]
        [--measure 200] [--cfg-options KEY=VALUE ...] [--out FILE.md]

Run it with nothing else on the machine; it trains (a few minutes per
config).
"""
import argparse
import copy
import itertools
import os.path as osp
import statistics
import tempfile
import time
from typing import List

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument(
        '--iters', type=int, default=300, help='iterations trained')
    parser.add_argument(
        '--measure',
        type=int,
        default=200,
        help='last iterations measured, and preloaded steps timed')
    parser.add_argument(
        '--batches', type=int, default=16, help='batches preloaded')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, as in tools/train.py')
    parser.add_argument('--out', help='also write the table (markdown)')
    args = parser.parse_args(argv)
    if not 1 <= args.measure <= args.iters or args.batches < 1:
        parser.error('need 1 <= --measure <= --iters and --batches >= 1')
    return args


def short_run(cfg: Config, iters: int, work_dir: str) -> Config:
    """``cfg`` trained for ``iters`` iterations, nothing but the logs."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=-1, save_last=False)
    cfg.load_from, cfg.resume = None, False
    return cfg


def measure(path: str, args) -> dict:
    """Median runner step and preloaded step (s) of one config."""
    from mmengine.runner import Runner

    import mmseg_ext  # noqa: F401
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    name = osp.splitext(osp.basename(path))[0]
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = short_run(cfg, args.iters, work_dir)
        # a fresh runner and visualizer per config: MMEngine keeps them by
        # name, and mmseg's runtime names its visualizer 'visualizer'
        cfg.experiment_name = f'data_share_{name}_{time.time_ns()}'
        if cfg.get('visualizer'):
            cfg.visualizer.name = cfg.experiment_name
        runner = Runner.from_cfg(cfg)
        runner.train()
        hub = runner.message_hub
        times = hub.get_scalar('train/time').data[0][-args.measure:]
        waits = hub.get_scalar('train/data_time').data[0][-args.measure:]
        loader = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader))
        batches = list(itertools.islice(iter(loader), args.batches))
        del loader
        steps = []
        for batch in itertools.islice(itertools.cycle(batches), args.measure):
            start = time.perf_counter()
            runner.model.train_step(batch, runner.optim_wrapper)
            steps.append(time.perf_counter() - start)
    runner_step = statistics.median(times)
    preloaded = statistics.median(steps)
    return dict(
        config=name,
        num_workers=cfg.train_dataloader.get('num_workers', 0),
        runner_s=runner_step,
        data_time_s=statistics.median(waits),
        preloaded_s=preloaded,
        ratio=runner_step / preloaded)


def report(rows: List[dict]) -> str:
    lines = [
        '| config | loader workers | runner step s | data_time s | '
        'preloaded step s | runner / preloaded |', '|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f'| {r["config"]} | {r["num_workers"]} | '
                     f'{r["runner_s"]:.3f} | {r["data_time_s"]:.3f} | '
                     f'{r["preloaded_s"]:.3f} | {r["ratio"]:.2f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    rows = [measure(path, args) for path in args.configs]
    text = report(rows)
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return rows


if __name__ == '__main__':
    main()
