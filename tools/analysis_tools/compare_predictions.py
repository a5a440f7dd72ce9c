"""Image | ground truth | each model's prediction, on the same test images.

One PNG, a row per image and a column per model, for looking at several
trained models side by side::

    python tools/analysis_tools/compare_predictions.py OUT.png \\
        --model FCN-8s CONFIG CHECKPOINT --model SegNet CONFIG CHECKPOINT \\
        --indices 0 40 80

The images and labels are the first model's test set (``--indices`` picks
them); every model predicts with its own test pipeline. Void pixels of the
ground truth are black.
"""
import argparse
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model
from mmseg.registry import DATASETS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_file', help='PNG to write')
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
        help='a column: its title, config and checkpoint')
    parser.add_argument(
        '--indices',
        nargs='+',
        type=int,
        default=[0],
        help='test-set samples to show, one row each')
    parser.add_argument(
        '--width', type=int, default=240, help='width of each tile (px)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def colourise(label: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Palette colours (RGB) for ids, black for anything else."""
    out = np.zeros(label.shape + (3, ), np.uint8)
    valid = label < len(palette)
    out[valid] = palette[label[valid]]
    return out


def tile(rgb: np.ndarray, width: int, title: str = '') -> np.ndarray:
    height = round(rgb.shape[0] * width / rgb.shape[1])
    rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_NEAREST)
    if title:
        band = np.full((18, width, 3), 255, np.uint8)
        cv2.putText(band, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        rgb = np.concatenate([band, rgb])
    return rgb


def main():
    args = parse_args()
    cfg = Config.fromfile(args.model[0][1])
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    palette = np.array(dataset.metainfo['palette'], np.uint8)
    samples = [dataset.get_data_info(i) for i in args.indices]
    images = [cv2.imread(s['img_path'])[..., ::-1] for s in samples]
    labels = []
    for s in samples:
        label = cv2.imread(s['seg_map_path'], cv2.IMREAD_UNCHANGED)
        lut = np.arange(256, dtype=np.uint8)
        for old, new in (s.get('label_map') or {}).items():
            lut[old] = new
        labels.append(lut[label])
    columns = [[
        tile(im, args.width, 'image' if not r else '')
        for r, im in enumerate(images)
    ],
               [
                   tile(
                       colourise(lb, palette), args.width,
                       'ground truth' if not r else '')
                   for r, lb in enumerate(labels)
               ]]
    for name, config, checkpoint in args.model:
        model = init_model(config, checkpoint, device=args.device)
        column = []
        for r, sample in enumerate(samples):
            pred = inference_model(model, sample['img_path'])
            label = pred.pred_sem_seg.data[0].cpu().numpy()
            column.append(
                tile(
                    colourise(label, palette), args.width,
                    name if not r else ''))
        columns.append(column)
    grid = np.concatenate([np.concatenate(col, axis=0) for col in columns],
                          axis=1)
    cv2.imwrite(args.out_file, grid[..., ::-1])
    print(f'{len(samples)} images x {len(args.model)} models -> '
          f'{osp.abspath(args.out_file)}')


if __name__ == '__main__':
    main()
