"""Make the small CamVid copy embedded under ``data/camvid_mini``.

Halves every train and val image of SegNet's CamVid (images: area
interpolation, written as JPEG; labels: nearest neighbour, so ids stay ids,
written as PNG) in the same layout as the full set. ``train_all.txt`` and
``val_all.txt`` list every image; ``train.txt`` and ``val.txt`` an evenly
spaced subset (``--num-train``, ``--num-val``) for quick runs and tests.

Example:
    python tools/misc/make_camvid_subset.py ../shared/data/camvid \
        data/camvid_mini --num-train 60 --num-val 24 --quality 85
"""
import argparse
import os.path as osp
import shutil
from pathlib import Path

import cv2
import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'src',
        help='CamVid root with train/, trainannot/, '
        'val/, valannot/, train.txt, val.txt')
    parser.add_argument('dst', help='output root')
    parser.add_argument(
        '--num-train',
        type=int,
        default=60,
        help='images listed in train.txt (all are written)')
    parser.add_argument(
        '--num-val',
        type=int,
        default=24,
        help='images listed in val.txt (all are written)')
    parser.add_argument('--scale', type=float, default=0.5)
    parser.add_argument(
        '--img-suffix',
        default='.jpg',
        choices=['.jpg', '.png'],
        help='image format; labels are always PNG')
    parser.add_argument(
        '--quality', type=int, default=85, help='JPEG quality (1-100)')
    return parser.parse_args()


def write_split(src: Path, dst: Path, split: str, num: int, img_suffix: str,
                scale: float, quality: int) -> None:
    """Write one split's images, labels and split lists.

    Args:
        src (Path): CamVid root in SegNet's layout.
        dst (Path): Output root.
        split (str): ``'train'`` or ``'val'``.
        num (int): Number of evenly spaced images listed in ``<split>.txt``.
        img_suffix (str): ``'.jpg'`` or ``'.png'`` for the images.
        scale (float): Resize factor.
        quality (int): JPEG quality.
    """
    list_file = src / f'{split}.txt'
    if not list_file.is_file():
        raise FileNotFoundError(f'split list not found: {list_file}')
    stems = list_file.read_text().split()
    picked = [
        stems[int(i)]
        for i in np.linspace(0, len(stems) - 1, num=min(num, len(stems)))
    ]
    img_params = ([cv2.IMWRITE_JPEG_QUALITY, quality] if img_suffix == '.jpg'
                  else [cv2.IMWRITE_PNG_COMPRESSION, 9])
    outputs = ((split, cv2.INTER_AREA, img_suffix, img_params),
               (f'{split}annot', cv2.INTER_NEAREST, '.png',
                [cv2.IMWRITE_PNG_COMPRESSION, 9]))
    for sub, _, _, _ in outputs:
        (dst / sub).mkdir(parents=True, exist_ok=True)
    for stem in stems:
        for sub, interp, suffix, params in outputs:
            path = src / sub / f'{stem}.png'
            img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise OSError(f'cannot read image: {path}')
            img = cv2.resize(
                img, None, fx=scale, fy=scale, interpolation=interp)
            cv2.imwrite(str(dst / sub / f'{stem}{suffix}'), img, params)
    (dst / f'{split}_all.txt').write_text('\n'.join(stems) + '\n')
    (dst / f'{split}.txt').write_text('\n'.join(picked) + '\n')


def main():
    args = parse_args()
    src, dst = Path(args.src), Path(args.dst)
    for split, num in (('train', args.num_train), ('val', args.num_val)):
        write_split(src, dst, split, num, args.img_suffix, args.scale,
                    args.quality)
    readme = src / 'README.md'
    if readme.is_file():
        shutil.copy(readme, osp.join(dst, 'README.source.md'))


if __name__ == '__main__':
    main()
