"""Convert CamVid's original release to SegNet's 11 classes and layout.

The original release (Brostow et al.) has 701 frames of 960x720 in
``701_StillsRaw_full/`` and colour-coded labels of 32 classes in
``LabeledApproved_full/`` (``<frame>_L.png``), with the colour table
``label_colors.txt``. SegNet's benchmark version keeps 11 classes plus void
(id 11) as 8-bit id PNGs of 480x360 in ``train/ trainannot/ val/ valannot/
test/ testannot/`` with ``train.txt``, ``val.txt``, ``test.txt`` (one file
stem per line): the layout :class:`mmseg_ext.datasets.CamVidDataset` reads.

The 32 classes are gathered into the 11 classes of Brostow et al.'s
benchmark by the usual grouping (``SEGNET_CLASSES``, as in MathWorks' CamVid
example); ``Void`` and colours outside the table become void. The split is
SegNet's (``segnet_split``): 367 train, 101 val, 233 test frames. SegNet
halves the resolution: images are resized by area interpolation, labels by
nearest neighbour; ``--full-size`` keeps 960x720.

Example:
    python tools/dataset_converters/camvid.py /path/to/CamVid -o data/camvid
"""
import argparse
import os
import os.path as osp
import shutil
from functools import partial
from typing import Dict, List, Tuple

import cv2
import numpy as np
from mmengine.utils import (mkdir_or_exist, track_parallel_progress,
                            track_progress)

#: The official 32-class colour table (``label_colors.txt``), RGB.
CAMVID_COLORS = {
    'Animal': (64, 128, 64),
    'Archway': (192, 0, 128),
    'Bicyclist': (0, 128, 192),
    'Bridge': (0, 128, 64),
    'Building': (128, 0, 0),
    'Car': (64, 0, 128),
    'CartLuggagePram': (64, 0, 192),
    'Child': (192, 128, 64),
    'Column_Pole': (192, 192, 128),
    'Fence': (64, 64, 128),
    'LaneMkgsDriv': (128, 0, 192),
    'LaneMkgsNonDriv': (192, 0, 64),
    'Misc_Text': (128, 128, 64),
    'MotorcycleScooter': (192, 0, 192),
    'OtherMoving': (128, 64, 64),
    'ParkingBlock': (64, 192, 128),
    'Pedestrian': (64, 64, 0),
    'Road': (128, 64, 128),
    'RoadShoulder': (128, 128, 192),
    'Sidewalk': (0, 0, 192),
    'SignSymbol': (192, 128, 128),
    'Sky': (128, 128, 128),
    'SUVPickupTruck': (64, 128, 192),
    'TrafficCone': (0, 0, 64),
    'TrafficLight': (0, 64, 64),
    'Train': (192, 64, 128),
    'Tree': (128, 128, 0),
    'Truck_Bus': (192, 128, 192),
    'Tunnel': (64, 0, 64),
    'VegetationMisc': (192, 192, 0),
    'Void': (0, 0, 0),
    'Wall': (64, 192, 0),
}

#: SegNet's 11 classes (ids 0-10, in order) and the original classes each
#: one gathers; everything else is void.
SEGNET_CLASSES = (
    ('Sky', ('Sky', )),
    ('Building', ('Building', 'Wall', 'Bridge', 'Tunnel', 'Archway')),
    ('Pole', ('Column_Pole', 'TrafficCone')),
    ('Road', ('Road', 'LaneMkgsDriv', 'LaneMkgsNonDriv')),
    ('Pavement', ('Sidewalk', 'ParkingBlock', 'RoadShoulder')),
    ('Tree', ('Tree', 'VegetationMisc')),
    ('SignSymbol', ('SignSymbol', 'Misc_Text', 'TrafficLight')),
    ('Fence', ('Fence', )),
    ('Car', ('Car', 'SUVPickupTruck', 'Truck_Bus', 'Train', 'OtherMoving')),
    ('Pedestrian', ('Pedestrian', 'Child', 'CartLuggagePram', 'Animal')),
    ('Bicyclist', ('Bicyclist', 'MotorcycleScooter')),
)
VOID_ID = 11
#: Frames per split in SegNet's version of the full release.
SEGNET_SIZES = dict(train=367, val=101, test=233)


def segnet_split(stem: str) -> str:
    """SegNet's split of a CamVid frame, from its file stem.

    Sequence 0006R0 and the first half of 0001TP (up to frame 008520) are
    training frames, the second half of 0001TP and Seq05VD test frames;
    0016E5 frames 07959-08159 are the validation set, its others training.

    Args:
        stem (str): File stem such as ``'0016E5_07959'`` or
            ``'Seq05VD_f00000'``.

    Returns:
        str: ``'train'``, ``'val'`` or ``'test'``.
    """
    seq, _, frame = stem.partition('_')
    number = frame.lstrip('f')
    if not number.isdigit():
        raise ValueError(f'{stem!r} is not a CamVid frame name '
                         '(<sequence>_<frame>, e.g. 0016E5_07959)')
    number = int(number)
    if seq == '0006R0':
        return 'train'
    if seq == '0001TP':
        return 'train' if number <= 8520 else 'test'
    if seq == '0016E5':
        return 'val' if 7959 <= number <= 8159 else 'train'
    if seq == 'Seq05VD':
        return 'test'
    raise ValueError(f'{stem!r}: unknown CamVid sequence {seq!r} (expected '
                     '0001TP, 0006R0, 0016E5 or Seq05VD)')


def read_colors(path: str) -> Dict[str, Tuple[int, int, int]]:
    """Read a ``label_colors.txt`` (``R G B<tab>Name`` per line)."""
    colors = {}
    with open(path) as f:
        for num, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 4 or not all(v.isdigit() for v in fields[:3]):
                raise ValueError(f'{path}:{num}: expected "R G B Name", '
                                 f'got {line.strip()!r}')
            colors[fields[3]] = tuple(int(v) for v in fields[:3])
    return colors


def color_to_id(colors: Dict[str, Tuple[int, int, int]]) -> Dict[int, int]:
    """SegNet class id of each colour (as ``R << 16 | G << 8 | B``)."""
    group = {
        name: i
        for i, (_, members) in enumerate(SEGNET_CLASSES)
        for name in members
    }
    lut = {}
    for name, (r, g, b) in colors.items():
        if name != 'Void' and name not in group:
            raise ValueError(f'class {name!r} of the colour table is not one '
                             'of the 32 CamVid classes')
        lut[r << 16 | g << 8 | b] = group.get(name, VOID_ID)
    return lut


def encode_label(rgb: np.ndarray, lut: dict) -> Tuple[np.ndarray, int]:
    """Class ids of an RGB colour label.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8 label in RGB order.
        lut (dict): Class id of each colour code, see :func:`color_to_id`.

    Returns:
        tuple[np.ndarray, int]: (H, W) uint8 ids (void 11 for colours not in
        ``lut``) and the number of such pixels.
    """
    rgb = rgb.astype(np.int32)
    code = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
    values, inverse = np.unique(code, return_inverse=True)
    ids = np.array([lut.get(int(v), VOID_ID) for v in values], np.uint8)
    unknown = np.array([int(v) not in lut for v in values])
    counts = np.bincount(inverse.ravel(), minlength=len(values))
    return ids[inverse].reshape(code.shape), int(counts[unknown].sum())


def convert_frame(stem: str, img_dir: str, label_dir: str, out_dir: str,
                  lut: Dict[int, int], half: bool) -> int:
    """Write one frame's image and id label.

    Args:
        stem (str): Frame name, e.g. ``'0001TP_006690'``.
        img_dir (str): Folder of ``<stem>.png``.
        label_dir (str): Folder of ``<stem>_L.png``.
        out_dir (str): Output root; the split folders must exist.
        lut (dict): Class id of each colour code, see :func:`color_to_id`.
        half (bool): Halve the resolution as SegNet does.

    Returns:
        int: Number of label pixels whose colour is not in ``lut``.
    """
    split = segnet_split(stem)
    img_path = osp.join(img_dir, stem + '.png')
    label_path = osp.join(label_dir, stem + '_L.png')
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'cannot read image {img_path}')
    label = cv2.imread(label_path, cv2.IMREAD_COLOR)
    if label is None:
        raise OSError(f'cannot read label {label_path}')
    if label.shape != img.shape:
        raise ValueError(f'label {label_path} is {label.shape[1]}x'
                         f'{label.shape[0]} but its image {img.shape[1]}x'
                         f'{img.shape[0]}')
    ids, unknown = encode_label(label[..., ::-1], lut)
    out_img = osp.join(out_dir, split, stem + '.png')
    if half:
        size = (img.shape[1] // 2, img.shape[0] // 2)
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        ids = cv2.resize(ids, size, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(out_img, img)
    else:
        shutil.copyfile(img_path, out_img)
    cv2.imwrite(osp.join(out_dir, split + 'annot', stem + '.png'), ids)
    return unknown


def find_frames(img_dir: str, label_dir: str) -> List[str]:
    """Stems of the frames that have both an image and a label."""
    for folder in (img_dir, label_dir):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'no such folder: {folder}')
    stems = sorted(
        osp.splitext(name)[0] for name in os.listdir(img_dir)
        if name.endswith('.png'))
    missing = [
        s for s in stems if not osp.isfile(osp.join(label_dir, s + '_L.png'))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} images have no label in {label_dir}, e.g. '
            f'{missing[0]}_L.png')
    if not stems:
        raise FileNotFoundError(f'no PNG images in {img_dir}')
    return stems


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert the original CamVid release to SegNet\'s 11 '
        'classes and layout')
    parser.add_argument(
        'camvid_path',
        help='folder with 701_StillsRaw_full/, '
        'LabeledApproved_full/ and label_colors.txt')
    parser.add_argument(
        '-o', '--out_dir', default='data/camvid', help='output path')
    parser.add_argument(
        '--img-dir',
        default='701_StillsRaw_full',
        help='image folder, relative to camvid_path')
    parser.add_argument(
        '--label-dir',
        default='LabeledApproved_full',
        help='colour label folder (<stem>_L.png), relative to camvid_path')
    parser.add_argument(
        '--colors',
        help='colour table (default: camvid_path/'
        'label_colors.txt if present, else the built-in official table)')
    parser.add_argument(
        '--full-size',
        action='store_true',
        help='keep 960x720 instead of SegNet\'s 480x360')
    parser.add_argument(
        '--nproc', default=4, type=int, help='number of processes')
    return parser.parse_args()


def main():
    args = parse_args()
    img_dir = osp.join(args.camvid_path, args.img_dir)
    label_dir = osp.join(args.camvid_path, args.label_dir)
    colors_file = args.colors or osp.join(args.camvid_path, 'label_colors.txt')
    if osp.isfile(colors_file):
        colors = read_colors(colors_file)
    elif args.colors:
        raise FileNotFoundError(f'no such file: {args.colors}')
    else:
        colors = CAMVID_COLORS
    lut = color_to_id(colors)
    stems = find_frames(img_dir, label_dir)
    splits = {stem: segnet_split(stem) for stem in stems}
    for split in SEGNET_SIZES:
        mkdir_or_exist(osp.join(args.out_dir, split))
        mkdir_or_exist(osp.join(args.out_dir, split + 'annot'))

    convert = partial(
        convert_frame,
        img_dir=img_dir,
        label_dir=label_dir,
        out_dir=args.out_dir,
        lut=lut,
        half=not args.full_size)
    if args.nproc > 1:
        unknown = track_parallel_progress(convert, stems, args.nproc)
    else:
        unknown = track_progress(convert, stems)

    for split, expected in SEGNET_SIZES.items():
        names = [s for s in stems if splits[s] == split]
        with open(osp.join(args.out_dir, split + '.txt'), 'w') as f:
            f.writelines(name + '\n' for name in names)
        note = '' if len(names) == expected else f' (SegNet: {expected})'
        print(f'{split}: {len(names)} frames{note}')
    if sum(unknown):
        print(f'{sum(unknown)} pixels in {sum(map(bool, unknown))} labels '
              'have colours outside the table; written as void (11)')
    print('Done!')


if __name__ == '__main__':
    main()
