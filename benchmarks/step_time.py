"""Training step time of a config, with NCHW and channels_last batches.

Builds the config's model and optimizer wrapper, then times
``model.train_step`` on one synthetic batch (uint8 images and labels of the
config's crop size, its batch size) with the config's data preprocessor
made NCHW (``SegDataPreProcessor``) and channels_last
(``ChannelsLastSegDataPreProcessor``), alternating the two for several
rounds; each round builds both models afresh with the same seed and reports
the fastest of its steps after two warm-up steps::

    python benchmarks/step_time.py CONFIG [--rounds 2] [--steps 6]
"""
import argparse
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


def synthetic_batch(batch_size: int, size, num_classes: int) -> dict:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    height, width = size
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(
                0, 256, (3, height, width), generator=g, dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(
                0, num_classes, (1, height, width), generator=g))
        sample.set_metainfo(
            dict(img_shape=size, ori_shape=size, pad_shape=size))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def step_time(cfg, layout: str, steps: int) -> float:
    """Fastest of ``steps`` training steps after two warm-up steps."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    model_cfg = cfg.model.copy()
    model_cfg.data_preprocessor = dict(
        model_cfg.data_preprocessor, type=LAYOUTS[layout])
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    size = tuple(cfg.model.data_preprocessor.get('size') or (192, 256))
    data = synthetic_batch(cfg.train_dataloader.batch_size, size,
                           cfg.model.decode_head.num_classes)
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
    from mmengine.registry import init_default_scope

    import mmseg_ext  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    init_default_scope('mmseg')
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
