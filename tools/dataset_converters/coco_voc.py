"""Convert COCO instance annotations to PASCAL VOC's 20 classes.

COCO has all 20 VOC categories (under its own names, ``COCO_NAMES``), so its
instance masks give far more VOC-style training images, as in torchvision's
segmentation reference (``references/segmentation/coco_utils.py``). For each
image of ``annotations/instances_<split>.json`` this writes a label PNG of
VOC ids: 0 background (including every non-VOC object), 1-20 the VOC classes
in VOC order and 255 ignore, where

- pixels covered by two or more VOC instances are 255 (as torchvision);
- crowd regions (``iscrowd=1``) of VOC categories are 255 where no single
  instance covers them (torchvision labels them as their class).

Only images with at least ``--min-fg`` pixels of the 20 classes are kept
(torchvision keeps images whose VOC annotation areas sum to more than 1000).
Polygons are rasterised with OpenCV at pixel centres, RLE masks (compressed
and uncompressed counts) decoded exactly; pycocotools is not needed.

Output (``-o``)::

    images/<split>       link to COCO_ROOT/<split> (or copies, see
                         --copy-images)
    annotations/<split>  <image stem>.png, 8-bit ids
    <split>.txt          stems of the kept images

Example:
    python tools/dataset_converters/coco_voc.py data/coco -o data/coco_voc \
        --split train2017 --min-fg 1000
"""
import argparse
import json
import os
import os.path as osp
import shutil
from collections import defaultdict
from functools import partial
from typing import Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.utils import (mkdir_or_exist, track_parallel_progress,
                            track_progress)

#: COCO's names of the 20 VOC classes, in VOC order (label ids 1-20):
#: aeroplane, bicycle, bird, boat, bottle, bus, car, cat, chair, cow,
#: diningtable, dog, horse, motorbike, person, pottedplant, sheep, sofa,
#: train, tvmonitor.
COCO_NAMES = ('airplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
              'cat', 'chair', 'cow', 'dining table', 'dog', 'horse',
              'motorcycle', 'person', 'potted plant', 'sheep', 'couch',
              'train', 'tv')
IGNORE = 255
#: An image record of the json with its annotations.
Item = Tuple[dict, List[dict]]


def rle_counts(counts: Union[str, bytes]) -> List[int]:
    """Run lengths of a compressed COCO RLE string (pycocotools' format).

    Each count is written in 5-bit groups, least significant first, as
    characters from ``'0'`` (48): bit 5 (0x20) marks that more groups
    follow, bit 4 of the last group is the sign. From the fourth count on,
    the value is the difference to the count two places before.
    """
    if isinstance(counts, bytes):
        counts = counts.decode('ascii')
    runs, pos = [], 0
    while pos < len(counts):
        value = shift = 0
        more = True
        while more:
            if pos >= len(counts):
                raise ValueError('compressed RLE ends inside a count')
            group = ord(counts[pos]) - 48
            value |= (group & 0x1f) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                value -= 1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def rle_to_mask(counts: Sequence[int], height: int, width: int) -> np.ndarray:
    """Decode run lengths (zeros first, column-major) to a (H, W) mask."""
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any() or counts.sum() != height * width:
        raise ValueError(f'RLE counts cover {counts.sum()} pixels, the mask '
                         f'{height}x{width}={height * width}')
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(width, height).T


def polygon_to_mask(polygon: Sequence[float], height: int,
                    width: int) -> np.ndarray:
    """Rasterise one COCO polygon ``[x1, y1, x2, y2, ...]`` as pycocotools.

    A port of pycocotools' ``rleFrPoly`` (``maskApi.c``, BSD licence), so
    that labels match those of torchvision's reference pixel for pixel:
    the outline is traced at 5x resolution, each image column keeps the
    points where the outline crosses it, and the mask toggles there in
    column-major order. Roughly, a pixel is set when its centre is inside.
    """
    scale = 5
    xy = np.asarray(polygon, np.float64).reshape(-1, 2)
    pts = np.trunc(scale * xy + .5).astype(np.int64)  # C's (int) cast
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    dx, dy = np.abs(x1 - x0), np.abs(y1 - y0)
    horiz = dx >= dy
    flip = np.where(horiz, x0 > x1, y0 > y1)
    xs, xe = np.where(flip, x1, x0), np.where(flip, x0, x1)
    ys, ye = np.where(flip, y1, y0), np.where(flip, y0, y1)
    steps = np.maximum(dx, dy)
    slope = np.where(horiz, ye - ys, xe - xs) / np.maximum(steps, 1)
    # points along every edge, d = 0..steps (from the end if flipped)
    edge = np.repeat(np.arange(len(pts)), steps + 1)
    d = np.arange(len(edge)) - np.repeat(
        np.cumsum(steps + 1) - steps - 1, steps + 1)
    t = np.where(flip[edge], steps[edge] - d, d)
    along = np.trunc(
        np.where(horiz[edge], ys[edge], xs[edge]) + slope[edge] * t +
        .5).astype(np.int64)
    u = np.where(horiz[edge], xs[edge] + t, along)
    v = np.where(horiz[edge], along, ys[edge] + t)
    # crossings of the pixel-centre columns, down-sampled
    moved = u[1:] != u[:-1]
    col = np.where(u[1:] < u[:-1], u[1:], u[1:] - 1)
    col = (col + .5) / scale - .5
    keep = moved & (np.floor(col) == col) & (col >= 0) & (col <= width - 1)
    row = np.minimum(v[1:], v[:-1])[keep]
    row = np.ceil(np.clip((row + .5) / scale - .5, 0, height))
    toggles = col[keep].astype(np.int64) * height + row.astype(np.int64)
    flat = np.zeros(height * width + 1, bool)
    if len(toggles):
        lo, hi = toggles.min(), toggles.max()
        state = np.cumsum(np.bincount(toggles - lo)) % 2 == 1
        flat[lo:hi + 1] = state
        flat[hi + 1:] = state[-1]
    return flat[:-1].reshape(width, height).T


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int,
                     width: int) -> np.ndarray:
    """Union of COCO polygons; those of fewer than 3 points add nothing."""
    mask = np.zeros((height, width), bool)
    for polygon in polygons:
        if len(polygon) >= 6:
            mask |= polygon_to_mask(polygon, height, width)
    return mask


def segmentation_to_mask(segm: Union[list, dict], height: int,
                         width: int) -> np.ndarray:
    """(H, W) bool mask of a COCO ``segmentation`` (polygons or RLE)."""
    if isinstance(segm, list):
        return polygons_to_mask(segm, height, width)
    size = tuple(segm.get('size', ()))
    if size != (height, width):
        raise ValueError(f'RLE size {list(size)} differs from the image '
                         f'size [{height}, {width}]')
    counts = segm['counts']
    if isinstance(counts, (str, bytes)):
        counts = rle_counts(counts)
    return rle_to_mask(counts, height, width)


def make_label(anns: Sequence[dict], height: int, width: int,
               cat_to_id: Dict[int, int]) -> np.ndarray:
    """VOC id label of one image from its COCO annotations.

    Args:
        anns (Sequence[dict]): The image's annotations; those whose
            ``category_id`` is not in ``cat_to_id`` are background.
        height (int): Image height.
        width (int): Image width.
        cat_to_id (dict): VOC id (1-20) of each COCO category id.

    Returns:
        np.ndarray: (H, W) uint8 label, 0 background, 1-20 classes, 255
        ignore (instance overlaps, crowd regions).
    """
    label = np.zeros((height, width), np.uint8)
    covers = np.zeros((height, width), np.uint16)
    crowd = np.zeros((height, width), bool)
    for ann in anns:
        voc_id = cat_to_id.get(ann['category_id'])
        if voc_id is None:
            continue
        try:
            mask = segmentation_to_mask(ann['segmentation'], height, width)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f'annotation {ann.get("id")}: bad segmentation '
                             f'({e})') from None
        if ann.get('iscrowd'):
            crowd |= mask
        else:
            label[mask] = voc_id
            covers[mask] += 1
    label[covers > 1] = IGNORE
    label[crowd & (covers == 0)] = IGNORE
    return label


def convert_image(item: Item, cat_to_id: Dict[int, int], out_dir: str,
                  min_fg: int) -> Tuple[str, int]:
    """Write one image's label if it has enough foreground.

    Returns:
        tuple[str, int]: The image's file stem and foreground pixel count
        (the label is written only when that is at least ``min_fg``).
    """
    info, anns = item
    label = make_label(anns, info['height'], info['width'], cat_to_id)
    fg = int(np.count_nonzero((label > 0) & (label != IGNORE)))
    stem = osp.splitext(info['file_name'])[0]
    if fg >= min_fg:
        cv2.imwrite(osp.join(out_dir, stem + '.png'), label)
    return stem, fg


def load_coco(ann_file: str) -> Tuple[List[Item], Dict[int, int]]:
    """Images with their annotations, and the VOC id of COCO categories."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'no such file: {ann_file}')
    with open(ann_file) as f:
        coco = json.load(f)
    name_to_cat = {c['name']: c['id'] for c in coco.get('categories', [])}
    missing = [n for n in COCO_NAMES if n not in name_to_cat]
    if missing:
        raise ValueError(f'{ann_file} lacks the VOC categories '
                         f'{", ".join(map(repr, missing))}')
    cat_to_id = {name_to_cat[n]: i for i, n in enumerate(COCO_NAMES, 1)}
    by_image = defaultdict(list)
    for ann in coco.get('annotations', []):
        by_image[ann['image_id']].append(ann)
    items = [(info, by_image[info['id']])
             for info in sorted(coco['images'], key=lambda i: i['file_name'])]
    return items, cat_to_id


def link_images(src: str, dst: str, stems: Sequence[str], copy: bool) -> None:
    """Make ``dst`` hold the kept images: a link to ``src`` or copies."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'no such folder: {src}')
    if copy:
        mkdir_or_exist(dst)
        for stem in stems:
            shutil.copy2(osp.join(src, stem + '.jpg'), dst)
    elif osp.islink(dst) and osp.realpath(dst) == osp.realpath(src):
        return
    elif osp.lexists(dst):
        raise FileExistsError(f'{dst} exists; remove it or use '
                              '--copy-images')
    else:
        mkdir_or_exist(osp.dirname(dst))
        os.symlink(osp.abspath(src), dst)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert COCO instance annotations to PASCAL VOC '
        'labels (20 classes)')
    parser.add_argument(
        'coco_path', help='COCO root with annotations/ and <split>/')
    parser.add_argument(
        '-o', '--out_dir', default='data/coco_voc', help='output path')
    parser.add_argument(
        '--split', default='train2017', help='train2017, val2017, ...')
    parser.add_argument(
        '--min-fg',
        default=1000,
        type=int,
        help='keep images with at least this many pixels of the 20 classes')
    parser.add_argument(
        '--copy-images',
        action='store_true',
        help='copy the kept images instead of linking the image folder')
    parser.add_argument(
        '--nproc', default=4, type=int, help='number of processes')
    return parser.parse_args()


def main():
    args = parse_args()
    ann_file = osp.join(args.coco_path, 'annotations',
                        f'instances_{args.split}.json')
    items, cat_to_id = load_coco(ann_file)
    # images without any VOC annotation are background only
    if args.min_fg > 0:
        items = [(info, anns) for info, anns in items
                 if any(a['category_id'] in cat_to_id for a in anns)]
    label_dir = osp.join(args.out_dir, 'annotations', args.split)
    mkdir_or_exist(label_dir)
    convert = partial(
        convert_image,
        cat_to_id=cat_to_id,
        out_dir=label_dir,
        min_fg=args.min_fg)
    if args.nproc > 1:
        results = track_parallel_progress(convert, items, args.nproc)
    else:
        results = track_progress(convert, items)
    kept = [stem for stem, fg in results if fg >= args.min_fg]

    link_images(
        osp.join(args.coco_path, args.split),
        osp.join(args.out_dir, 'images', args.split), kept, args.copy_images)
    with open(osp.join(args.out_dir, args.split + '.txt'), 'w') as f:
        f.writelines(stem + '\n' for stem in kept)
    print(f'{args.split}: kept {len(kept)} images with at least '
          f'{args.min_fg} foreground pixels')
    print('Done!')


if __name__ == '__main__':
    main()
