"""Training step time of a config, with NCHW and channels_last batches.

Builds the config's model (as ``speed.py`` does) and optimizer wrapper,
then times ``model.train_step`` on one synthetic batch
(``speed.make_batch``: uint8 images and labels of the config's crop size,
its batch size) with the config's data preprocessor made NCHW
(``SegDataPreProcessor``) and channels_last
(``ChannelsLastSegDataPreProcessor``), alternating the two for several
rounds; each round builds both models afresh with the same seed and reports
the fastest of its steps after two warm-up steps::

    python benchmarks/step_time.py CONFIG [--rounds 2] [--steps 6]
"""
import argparse
import copy
import importlib.util
import os.path as osp
import statistics
import time

import torch

LAYOUTS = {
    'nchw': 'SegDataPreProcessor',
    'channels_last': 'ChannelsLastSegDataPreProcessor'
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--steps', type=int, default=6, help='timed steps')
    parser.add_argument('--threads', type=int, help='torch threads')
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        parser.error('--rounds and --steps must be >= 1')
    return args


def _load_speed():
    """benchmarks/speed.py (``benchmarks`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        '_bench_speed',
        osp.join(osp.dirname(osp.abspath(__file__)), 'speed.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


speed = _load_speed()


def step_time(cfg, layout: str, steps: int) -> float:
    """Fastest of ``steps`` training steps after two warm-up steps."""
    from mmengine.optim import build_optim_wrapper
    cfg = copy.deepcopy(cfg)
    cfg.model.data_preprocessor.type = LAYOUTS[layout]
    torch.manual_seed(0)
    model = speed.build_ours(cfg).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    size = tuple(cfg.model.data_preprocessor.get('size') or (192, 256))
    data = speed.make_batch(size, cfg.train_dataloader.batch_size,
                            cfg.model.decode_head.num_classes, 0)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        model.train_step(data, wrapper)
        if i >= 2:
            times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    args = parse_args(argv)
    import logging

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    cfg = Config.fromfile(args.config)
    results = {layout: [] for layout in LAYOUTS}
    for r in range(args.rounds):
        order = list(LAYOUTS)[r % 2:] + list(LAYOUTS)[:r % 2]
        for layout in order:
            results[layout].append(step_time(cfg, layout, args.steps))
    nchw = statistics.median(results['nchw'])
    print(f'{args.config}: batch {cfg.train_dataloader.batch_size}, '
          f'{torch.get_num_threads()} threads')
    for layout, times in results.items():
        median = statistics.median(times)
        print(f'  {layout:13s} {median:.3f} s per step (rounds: '
              f'{", ".join(f"{t:.3f}" for t in times)}), '
              f'{median / nchw:.2f}x NCHW')


if __name__ == '__main__':
    main()
