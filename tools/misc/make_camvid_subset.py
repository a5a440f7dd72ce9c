"""Make the small CamVid subset embedded under ``data/camvid_mini``.

Takes evenly spaced images from each split of SegNet's CamVid, halves their
resolution (images: area interpolation; labels: nearest neighbour, so ids
stay ids) and writes them in the same layout as the full set.

Example:
    python tools/misc/make_camvid_subset.py ../shared/data/camvid \
        data/camvid_mini --num-train 60 --num-val 24
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
    parser.add_argument('--num-train', type=int, default=60)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--scale', type=float, default=0.5)
    return parser.parse_args()


def main():
    args = parse_args()
    src, dst = Path(args.src), Path(args.dst)
    for split, num in (('train', args.num_train), ('val', args.num_val)):
        list_file = src / f'{split}.txt'
        if not list_file.is_file():
            raise FileNotFoundError(f'split list not found: {list_file}')
        stems = list_file.read_text().split()
        picked = [
            stems[int(i)]
            for i in np.linspace(0, len(stems) - 1, num=min(num, len(stems)))
        ]
        (dst / split).mkdir(parents=True, exist_ok=True)
        (dst / f'{split}annot').mkdir(parents=True, exist_ok=True)
        for stem in picked:
            for sub, interp in ((split, cv2.INTER_AREA), (f'{split}annot',
                                                          cv2.INTER_NEAREST)):
                path = src / sub / f'{stem}.png'
                img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                if img is None:
                    raise OSError(f'cannot read image: {path}')
                img = cv2.resize(
                    img,
                    None,
                    fx=args.scale,
                    fy=args.scale,
                    interpolation=interp)
                cv2.imwrite(
                    str(dst / sub / f'{stem}.png'), img,
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])
        (dst / f'{split}.txt').write_text('\n'.join(picked) + '\n')
    readme = src / 'README.md'
    if readme.is_file():
        shutil.copy(readme, osp.join(dst, 'README.source.md'))


if __name__ == '__main__':
    main()
