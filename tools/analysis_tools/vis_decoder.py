"""What unpooling and (de)convolution each do in SegNet and DeconvNet.

For one image, the mean over channels of each decoder stage's activation
right after unpooling (sparse: one value per pooling window, where the
encoder's maximum was) and after the stage's convolutions or
deconvolutions (which densify it again), deepest stage first, as one PNG
grid: the DeconvNet paper's Figure 4 (Noh, Hong & Han, ICCV 2015)::

    python tools/analysis_tools/vis_decoder.py CONFIG CKPT IMAGE \\
        --out-file decoder.png

Works for any head built of ``UnpoolBlock`` stages (``SegNetHead``,
``DeconvNetHead``), read through forward hooks; the image is prepared as
in ``demo/image_demo.py``.
"""
import argparse
import os.path as osp
from typing import List

import mmcv
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import DictAction
from mmengine.utils import mkdir_or_exist

from mmseg_ext.apis import Segmenter, draw_overlay
from mmseg_ext.models.utils import UnpoolBlock


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Mean activation of each unpooling decoder stage')
    parser.add_argument('config', help='config file (SegNet or DeconvNet)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument(
        '--out-file', default='decoder.png', help='PNG file to write')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device used for inference')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def decoder_stages(head: nn.Module) -> List[nn.Module]:
    """The head's unpooling stages (``UnpoolBlock``, else ``head.stages``).
    """
    stages = [m for m in head.modules() if isinstance(m, UnpoolBlock)]
    stages = stages or list(getattr(head, 'stages', []))
    if not stages:
        raise SystemExit(f'{type(head).__name__} has no unpooling stages; '
                         'vis_decoder.py is for SegNet and DeconvNet heads')
    return stages


def record_stages(head: nn.Module) -> tuple:
    """Hook every stage of ``head``; returns (records, hook handles).

    Each forward of a stage appends to ``records`` a dict with ``index``
    (its position in the head), ``unpooled`` (whether it had switches),
    ``before`` (the input of its convolutions, i.e. the unpooled map),
    ``after`` (its output) and ``convs`` (its conv layers).
    """
    records, handles = [], []
    for index, stage in enumerate(decoder_stages(head)):
        convs = getattr(stage, 'convs', None) or next(stage.children())
        layers = [
            m for m in stage.modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        ]

        def enter(module, args, index=index, layers=layers):
            switch = args[1] if len(args) > 1 else None
            records.append(
                dict(index=index, unpooled=switch is not None, convs=layers))

        def unpooled(module, args):
            records[-1]['before'] = args[0].detach()

        def leave(module, args, output):
            records[-1]['after'] = output.detach()

        handles += [
            stage.register_forward_pre_hook(enter),
            convs.register_forward_pre_hook(unpooled),
            stage.register_forward_hook(leave)
        ]
    return records, handles


def plot_grid(img: np.ndarray,
              overlay: np.ndarray,
              records: List[dict],
              out_file: str,
              title: str = '') -> None:
    """Image and prediction on top, then one row per stage."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = len(records) + 1
    fig, axes = plt.subplots(rows, 2, figsize=(7, 2.6 * rows))
    axes[0, 0].imshow(mmcv.bgr2rgb(img))
    axes[0, 0].set_title('input')
    axes[0, 1].imshow(mmcv.bgr2rgb(overlay))
    axes[0, 1].set_title('prediction')
    for row, rec in zip(axes[1:], records):
        deconv = any(isinstance(m, nn.ConvTranspose2d) for m in rec['convs'])
        n = len(rec['convs'])
        names = ('unpooled' if rec['unpooled'] else 'input (no unpooling)',
                 f'after {n} {"deconv" if deconv else "conv"}'
                 f'{"s" if n > 1 else ""}')
        for ax, key, name in zip(row, ('before', 'after'), names):
            act = rec[key][0].float().mean(dim=0).cpu().numpy()
            ax.imshow(act, cmap='viridis', interpolation='nearest')
            ax.set_title(
                f'stage {rec["index"]}: {name}, '
                f'{act.shape[1]}x{act.shape[0]}',
                fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    mkdir_or_exist(osp.dirname(osp.abspath(out_file)))
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    segmenter = Segmenter(
        args.config,
        args.checkpoint,
        backend='pytorch',
        device=args.device,
        crf=False,
        cfg_options=args.cfg_options)
    head = segmenter.model.decode_head
    records, handles = record_stages(head)
    img = mmcv.imread(args.img)
    if img is None:
        raise SystemExit(f'cannot read image {args.img}')
    result = segmenter(img)
    for handle in handles:
        handle.remove()
    labels = result.pred_sem_seg.data[0].cpu().numpy()
    overlay = draw_overlay(img, labels, segmenter.palette)
    plot_grid(img, overlay, records, args.out_file, type(head).__name__)
    for rec in records:
        zeros = float((rec['before'] == 0).float().mean())
        print(f'stage {rec["index"]}: {tuple(rec["before"].shape[-2:])}, '
              f'{100 * zeros:.0f}% zeros after '
              f'{"unpooling" if rec["unpooled"] else "the input"}, '
              f'{100 * float((rec["after"] == 0).float().mean()):.0f}% '
              'after the convolutions')
    print(f'saved {args.out_file}')


if __name__ == '__main__':
    main()
