"""Segment images with a trained model: overlays, label maps, ``.npy``.

mmseg's ``demo/image_demo.py IMG CONFIG CHECKPOINT --out-file OUT`` for an
image, a folder or a glob pattern, in PyTorch or, given an ONNX file from
``tools/deployment/pytorch2onnx.py``, ONNX Runtime::

    python demo/image_demo.py IMG.png CONFIG CKPT --out-file out.png
    python demo/image_demo.py 'data/camvid_mini/val/*.jpg' CONFIG CKPT \\
        --out-file out/ --save-npy
    python demo/image_demo.py IMG.png CONFIG model.onnx --out-file out.png

For each image it writes the overlay (``OUT``, or ``OUT/<name>.png`` when
``OUT`` is a folder or there are several images), the class ids as a
palette PNG (``<overlay>_labels.png``) and with ``--save-npy`` as a
``.npy`` array (``<overlay>_labels.npy``). Without ``--out-file`` each
overlay is shown in a window, if there is a display.
"""
import argparse
import glob
import os.path as osp

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.utils import mkdir_or_exist

from mmseg_ext.apis import (BACKENDS, Segmenter, display_available,
                            draw_overlay, save_label_png)
from mmseg_ext.models.utils import FAST_CLI_CHOICES, add_fast_argument

IMG_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Segment images (a file, a folder or a glob pattern)')
    parser.add_argument('img', help='image file, folder or glob pattern')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', help='checkpoint file, or an ONNX file (.onnx)')
    parser.add_argument(
        '--out-file',
        help='overlay file for one image, or a folder; shown in a window '
        'if absent')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device used for inference')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the painted segmentation map, in [0, 1]')
    parser.add_argument(
        '--title', default='result', help='window title for showing')
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        help='default: onnxruntime for a .onnx checkpoint, else pytorch')
    parser.add_argument(
        '--crf',
        action=argparse.BooleanOptionalAction,
        help='dense CRF on or off (default: as model.test_cfg.crf)')
    add_fast_argument(parser)
    parser.add_argument(
        '--save-npy',
        action='store_true',
        help='also save the class ids as .npy')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def find_images(pattern: str) -> list:
    """An image file, the images of a folder, or the files of a glob."""
    if osp.isdir(pattern):
        files = sorted(glob.glob(osp.join(glob.escape(pattern), '*')))
        files = [f for f in files if f.lower().endswith(IMG_SUFFIXES)]
    elif osp.isfile(pattern):
        files = [pattern]
    else:
        files = sorted(f for f in glob.glob(pattern) if osp.isfile(f))
    if not files:
        raise SystemExit(f'no image found at {pattern}')
    return files


def output_files(images: list, out_file: str) -> list:
    """The overlay file of each image."""
    if out_file.lower().endswith(IMG_SUFFIXES):
        if len(images) > 1:
            raise SystemExit(f'--out-file {out_file} names one file but '
                             f'{len(images)} images were found; give a '
                             'folder')
        return [out_file]
    names = [osp.splitext(osp.basename(f))[0] + '.png' for f in images]
    if len(set(names)) < len(names):
        raise SystemExit(f'{out_file}: several images would share an '
                         'output name; segment one folder at a time')
    return [osp.join(out_file, name) for name in names]


def main(argv=None):
    args = parse_args(argv)
    images = find_images(args.img)
    if args.out_file is None and not display_available():
        raise SystemExit('no display to show the results on: give '
                         '--out-file')
    segmenter = Segmenter(
        args.config,
        args.checkpoint,
        backend=args.backend,
        device=args.device,
        crf=args.crf,
        fast=FAST_CLI_CHOICES[args.fast] if args.fast else None,
        cfg_options=args.cfg_options)
    palette = segmenter.palette
    outs = output_files(images, args.out_file) if args.out_file else None
    for i, path in enumerate(images):
        img = mmcv.imread(path)
        if img is None:
            raise SystemExit(f'cannot read image {path}')
        labels = segmenter(img).pred_sem_seg.data[0].cpu().numpy()
        overlay = draw_overlay(img, labels, palette, args.opacity)
        if outs is None:
            cv2.imshow(args.title, overlay)
            cv2.waitKey(0)
            continue
        stem = osp.splitext(outs[i])[0]
        mkdir_or_exist(osp.dirname(osp.abspath(outs[i])))
        cv2.imwrite(outs[i], overlay)
        save_label_png(labels, palette, f'{stem}_labels.png')
        if args.save_npy:
            np.save(f'{stem}_labels.npy', labels.astype(np.uint8))
        print(f'{path} -> {outs[i]}')


if __name__ == '__main__':
    main()
