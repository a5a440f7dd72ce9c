"""Draw the training set's images with their labels, after the pipeline.

mmseg's ``browse_dataset.py`` with the same arguments. mmseg 1.2.2's tool
hands the visualizer a non-contiguous image, which OpenCV 5 refuses when it
draws the class names (``cv2.rectangle``); this one passes a contiguous
copy, and shows a window only where there is a display (else it only
writes ``--output-dir``, never waiting on a window)::

    python tools/misc/browse_dataset.py CONFIG --output-dir browse --not-show
"""
import argparse
import os.path as osp

import numpy as np
from mmengine import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS, VISUALIZERS

from mmseg_ext.apis import display_available


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--output-dir',
        default=None,
        type=str,
        help='If there is no display interface, you can save it')
    parser.add_argument('--not-show', default=False, action='store_true')
    parser.add_argument(
        '--show-interval',
        type=float,
        default=2,
        help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmseg')
    show = not args.not_show
    if show and not display_available():
        print('no display (DISPLAY is not set): not showing')
        show = False
    if not show and args.output_dir is None:
        raise SystemExit('nothing to do: give --output-dir (or show the '
                         'images on a display)')

    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    cfg.visualizer['save_dir'] = args.output_dir
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo

    progress_bar = ProgressBar(len(dataset))
    for item in dataset:
        img = item['inputs'].permute(1, 2, 0).numpy()
        img = np.ascontiguousarray(img[..., [2, 1, 0]])  # BGR to RGB
        data_sample = item['data_samples'].numpy()
        name = osp.basename(item['data_samples'].img_path)
        visualizer.add_datasample(
            name,
            img,
            data_sample,
            show=show,
            wait_time=args.show_interval,
            out_file=osp.join(args.output_dir, name)
            if args.output_dir else None)
        progress_bar.update()


if __name__ == '__main__':
    main()
