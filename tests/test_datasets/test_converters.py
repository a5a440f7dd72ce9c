"""Dataset converters of ``tools/dataset_converters`` on tiny made-up data.

CamVid: a release of four 16x12 frames with colour labels in the official
colours. COCO: a hand-made ``instances_train2017.json`` whose masks are
worked out by hand below (polygons, compressed and uncompressed RLE, a crowd
region, an overlap, a non-VOC object, an image below the threshold).
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS, TRANSFORMS
from PIL import Image

from mmseg_ext.datasets import CamVidDataset
from mmseg_ext.engine import DataError
from ..conftest import CAMVID_MINI, REPO, VOC_MINI

TOOLS = osp.join(REPO, 'tools', 'dataset_converters')
LOADERS = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations')
]


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f'converter_{name}', osp.join(TOOLS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tool, *args):
    proc = subprocess.run(
        [sys.executable,
         osp.join(TOOLS, tool + '.py'), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


camvid = _load('camvid')
coco_voc = _load('coco_voc')

# ---------------------------------------------------------------- CamVid

#: Colours of the official table and the SegNet id each must become.
CAMVID_IDS = {
    (128, 128, 128): 0,  # Sky
    (128, 0, 0): 1,  # Building
    (0, 128, 64): 1,  # Bridge
    (64, 192, 0): 1,  # Wall
    (192, 192, 128): 2,  # Column_Pole
    (0, 0, 64): 2,  # TrafficCone
    (128, 64, 128): 3,  # Road
    (128, 0, 192): 3,  # LaneMkgsDriv
    (0, 0, 192): 4,  # Sidewalk
    (128, 128, 192): 4,  # RoadShoulder
    (192, 192, 0): 5,  # VegetationMisc
    (0, 64, 64): 6,  # TrafficLight
    (64, 64, 128): 7,  # Fence
    (64, 128, 192): 8,  # SUVPickupTruck
    (64, 128, 64): 9,  # Animal
    (64, 64, 0): 9,  # Pedestrian
    (192, 0, 192): 10,  # MotorcycleScooter
    (0, 0, 0): 11,  # Void
    (1, 2, 3): 11,  # not in the table
}
FRAMES = {
    '0001TP_006690': 'train',
    '0006R0_f00930': 'train',
    '0016E5_07959': 'val',
    'Seq05VD_f00000': 'test'
}


@pytest.mark.parametrize('stem,split', [('0001TP_006690', 'train'),
                                        ('0001TP_008520', 'train'),
                                        ('0001TP_008550', 'test'),
                                        ('0001TP_010380', 'test'),
                                        ('0006R0_f03930', 'train'),
                                        ('0016E5_07890', 'train'),
                                        ('0016E5_07959', 'val'),
                                        ('0016E5_08159', 'val'),
                                        ('0016E5_08190', 'train'),
                                        ('Seq05VD_f05100', 'test')])
def test_segnet_split(stem, split):
    assert camvid.segnet_split(stem) == split


def test_segnet_split_reproduces_segnet_lists():
    """The embedded subset's stems come from SegNet's own split lists."""
    for split in ('train', 'val'):
        with open(osp.join(CAMVID_MINI, split + '.txt')) as f:
            stems = f.read().split()
        assert stems
        assert {camvid.segnet_split(s) for s in stems} == {split}


@pytest.mark.parametrize('stem', ['0002XX_000010', '0001TP', 'Seq05VD_fx'])
def test_segnet_split_refuses_other_names(stem):
    with pytest.raises(ValueError, match=stem):
        camvid.segnet_split(stem)


def test_camvid_tables():
    colors = camvid.CAMVID_COLORS
    assert len(colors) == 32 and len(set(colors.values())) == 32
    names = [name for name, _ in camvid.SEGNET_CLASSES]
    assert tuple(names) == CamVidDataset.METAINFO['classes']
    members = [m for _, group in camvid.SEGNET_CLASSES for m in group]
    assert sorted(members) == sorted(set(colors) - {'Void'})
    lut = camvid.color_to_id(colors)
    for (r, g, b), idx in CAMVID_IDS.items():
        assert lut.get(r << 16 | g << 8 | b, 11) == idx, (r, g, b)


def test_read_colors(tmp_path):
    path = tmp_path / 'label_colors.txt'
    path.write_text('64 128 64\tAnimal\n128 0 0\t\tBuilding\n\n'
                    '0 0 0\t\tVoid\n')
    colors = camvid.read_colors(str(path))
    assert colors == {
        'Animal': (64, 128, 64),
        'Building': (128, 0, 0),
        'Void': (0, 0, 0)
    }
    assert camvid.color_to_id(colors) == {
        64 << 16 | 128 << 8 | 64: 9,
        128 << 16: 1,
        0: 11
    }
    path.write_text('1 2 3\tRoadMarking\n')
    with pytest.raises(ValueError, match='RoadMarking'):
        camvid.color_to_id(camvid.read_colors(str(path)))
    path.write_text('1 2\tSky\n')
    with pytest.raises(ValueError, match='label_colors.txt:1'):
        camvid.read_colors(str(path))


@pytest.fixture
def camvid_release(tmp_path):
    """Four 16x12 frames: random images, random labels in table colours.

    Returns the release root and each frame's expected full-size ids.
    """
    root = tmp_path / 'CamVid'
    os.makedirs(root / '701_StillsRaw_full')
    os.makedirs(root / 'LabeledApproved_full')
    rng = np.random.default_rng(0)
    palette = np.array(list(CAMVID_IDS), np.uint8)
    ids = np.array(list(CAMVID_IDS.values()), np.uint8)
    expected = {}
    for stem in FRAMES:
        img = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        pick = rng.integers(0, len(palette), (12, 16))
        cv2.imwrite(str(root / '701_StillsRaw_full' / f'{stem}.png'), img)
        Image.fromarray(palette[pick]).save(root / 'LabeledApproved_full' /
                                            f'{stem}_L.png')
        expected[stem] = ids[pick]
    return root, expected


def _read_ids(path):
    img = Image.open(path)
    assert img.mode == 'L'
    return np.asarray(img)


@pytest.mark.slow
@pytest.mark.parametrize('full_size', [False, True])
def test_camvid_converter(camvid_release, tmp_path, full_size):
    root, expected = camvid_release
    out = tmp_path / 'camvid'
    if full_size:  # also read the colour table from the release
        (root / 'label_colors.txt').write_text(''.join(
            f'{r} {g} {b}\t{name}\n'
            for name, (r, g, b) in camvid.CAMVID_COLORS.items()))
    log = _run('camvid', root, '-o', out, '--nproc', 1,
               *(['--full-size'] if full_size else []))
    assert 'train: 2 frames (SegNet: 367)' in log
    unknown = sum(int((e == 11).sum()) for e in expected.values())
    assert 'have colours outside the table' in log and unknown

    for split in ('train', 'val', 'test'):
        with open(out / f'{split}.txt') as f:
            stems = f.read().split()
        assert stems == sorted(s for s, p in FRAMES.items() if p == split)
    for stem, split in FRAMES.items():
        ids = _read_ids(out / f'{split}annot' / f'{stem}.png')
        src = cv2.imread(str(root / '701_StillsRaw_full' / f'{stem}.png'))
        img = cv2.imread(str(out / split / f'{stem}.png'))
        if full_size:
            np.testing.assert_array_equal(ids, expected[stem])
            np.testing.assert_array_equal(img, src)
        else:  # nearest: top-left pixel; area: mean of each 2x2 block
            np.testing.assert_array_equal(ids, expected[stem][::2, ::2])
            mean = src.reshape(6, 2, 8, 2, 3).astype(float).mean((1, 3))
            assert img.shape == (6, 8, 3)
            assert np.abs(img - mean).max() <= 0.5 + 1e-6

    ds = CamVidDataset(
        data_root=str(out),
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        ann_file='train.txt',
        pipeline=LOADERS)
    assert len(ds) == 2
    gt = ds[0]['gt_seg_map']
    raw = _read_ids(out / 'trainannot' / '0001TP_006690.png')
    np.testing.assert_array_equal(gt, np.where(raw == 11, 255, raw))


def test_colour_label_names_the_converter(camvid_release):
    root, _ = camvid_release
    label = root / 'LabeledApproved_full' / '0001TP_006690_L.png'
    load = TRANSFORMS.build(dict(type='CheckedLoadAnnotations'))
    with pytest.raises(DataError) as e:
        load(
            dict(
                seg_map_path=str(label),
                reduce_zero_label=False,
                seg_fields=[]))
    assert str(label) in str(e.value)
    assert 'tools/dataset_converters/camvid.py' in str(e.value)


# ----------------------------------------------------------------- COCO

#: COCO category ids of the VOC classes (as in COCO 2017) and one other.
COCO_CATEGORIES = {
    'person': 1,
    'bicycle': 2,
    'car': 3,
    'motorcycle': 4,
    'airplane': 5,
    'bus': 6,
    'train': 7,
    'boat': 9,
    'bird': 16,
    'cat': 17,
    'dog': 18,
    'horse': 19,
    'sheep': 20,
    'cow': 21,
    'bottle': 44,
    'bowl': 51,
    'chair': 62,
    'couch': 63,
    'potted plant': 64,
    'dining table': 67,
    'tv': 72
}
PERSON, CAR, BOTTLE, DOG = 15, 7, 5, 12  # VOC ids
H, W = 10, 12
# right triangle: pixel (row j, col i) has its centre inside iff i + j <= 7
TRIANGLE = [0.2, 0.2, 8.2, 0.2, 0.2, 8.2]
# rows 1-3, cols 9-11
SQUARE = [9.2, 1.2, 11.8, 1.2, 11.8, 3.8, 9.2, 3.8]
# car, rows 6-8 x cols 8-10; column-major runs 86 3 7 3 7 3 11, written
# 86 -> 'f2' (22 | 0x20, 2), 3, 7, then differences to the run two
# before: 3-3 = 0, 7-7 = 0, 3-3 = 0, 11-7 = 4
CAR_RLE = 'f2370004'
# dog, rows 7-9 x cols 0-1
DOG_COUNTS = [7, 3, 7, 3, 100]
# crowd of persons, rows 0-4 x cols 5-8
CROWD_COUNTS = [50, 5, 5, 5, 5, 5, 5, 5, 35]


def _expected_label():
    rows, cols = np.mgrid[:H, :W]
    person = rows + cols <= 7
    label = np.zeros((H, W), np.uint8)
    label[person] = PERSON
    label[1:4, 9:12] = PERSON
    label[6:9, 8:11] = CAR
    label[7:10, 0:2] = DOG
    label[7, 0] = 255  # person and dog
    crowd = np.zeros((H, W), bool)
    crowd[0:5, 5:9] = True
    label[crowd & ~person] = 255  # crowd where no single instance is
    return label


def _ann(id, image_id, category, segmentation, iscrowd=0):
    return dict(
        id=id,
        image_id=image_id,
        iscrowd=iscrowd,
        area=0.,
        category_id=COCO_CATEGORIES[category],
        segmentation=segmentation,
        bbox=[0, 0, 1, 1])


@pytest.fixture
def coco_root(tmp_path):
    root = tmp_path / 'coco'
    os.makedirs(root / 'annotations')
    os.makedirs(root / 'train2017')
    images = [
        dict(id=1, file_name='000000000001.jpg', height=H, width=W),
        dict(id=2, file_name='000000000002.jpg', height=8, width=8),
        dict(id=3, file_name='000000000003.jpg', height=8, width=8),
    ]
    anns = [
        _ann(10, 1, 'person', [TRIANGLE, SQUARE]),
        _ann(11, 1, 'car', dict(size=[H, W], counts=CAR_RLE)),
        _ann(12, 1, 'dog', dict(size=[H, W], counts=DOG_COUNTS)),
        _ann(13, 1, 'person', dict(size=[H, W], counts=CROWD_COUNTS), 1),
        _ann(14, 1, 'bowl', [[3, 8, 7, 8, 7, 10, 3, 10]]),  # not VOC
        # 2x2 pixels of bottle: below the threshold
        _ann(20, 2, 'bottle', [[1.2, 1.2, 2.8, 1.2, 2.8, 2.8, 1.2, 2.8]]),
        _ann(30, 3, 'bowl', [[1, 1, 7, 1, 7, 7]]),
    ]
    categories = [
        dict(id=i, name=n, supercategory='')
        for n, i in COCO_CATEGORIES.items()
    ]
    with open(root / 'annotations' / 'instances_train2017.json', 'w') as f:
        json.dump(
            dict(images=images, annotations=anns, categories=categories), f)
    for info in images:
        img = np.full((info['height'], info['width'], 3), 100, np.uint8)
        cv2.imwrite(str(root / 'train2017' / info['file_name']), img)
    return root


def test_rle_counts():
    assert coco_voc.rle_counts(CAR_RLE) == [86, 3, 7, 3, 7, 3, 11]
    # 1 - 2 = -1 and 4 - 5 = -1: 31 + 48 = 'O' (sign bit 0x10 set)
    assert coco_voc.rle_counts(b'325OO') == [3, 2, 5, 1, 4]
    with pytest.raises(ValueError, match='ends inside'):
        coco_voc.rle_counts('f')


def test_rle_to_mask():
    mask = coco_voc.rle_to_mask([1, 2, 3], 2, 3)  # column-major
    np.testing.assert_array_equal(mask, [[0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match='cover 5 pixels'):
        coco_voc.rle_to_mask([1, 4], 2, 3)


def test_polygons():
    rows, cols = np.mgrid[:H, :W]
    mask = coco_voc.polygons_to_mask([TRIANGLE], H, W)
    np.testing.assert_array_equal(mask, rows + cols <= 7)
    mask = coco_voc.polygons_to_mask([SQUARE, [0, 0, 5, 5]], H, W)
    assert mask.sum() == 9 and mask[1:4, 9:12].all()
    # outside the image: clipped
    mask = coco_voc.polygons_to_mask([[-5, -5, 3.2, -5, 3.2, 2.2, -5, 2.2]], H,
                                     W)
    np.testing.assert_array_equal(mask, (rows < 2) & (cols < 3))


def test_polygons_match_pycocotools():
    """The rasteriser is pycocotools' one (run where it is installed)."""
    cocomask = pytest.importorskip('pycocotools.mask')
    rng = np.random.default_rng(1)
    for _ in range(200):
        h, w = rng.integers(1, 40, 2)
        poly = rng.uniform(-5, max(h, w) + 5, 2 * rng.integers(3, 9))
        if rng.random() < 0.3:
            poly = np.round(poly * 2) / 2
        ref = cocomask.decode(cocomask.frPyObjects([poly.tolist()], h, w))
        got = coco_voc.polygons_to_mask([poly.tolist()], h, w)
        np.testing.assert_array_equal(got, ref[..., 0].astype(bool))


def test_make_label(coco_root):
    items, cat_to_id = coco_voc.load_coco(
        str(coco_root / 'annotations' / 'instances_train2017.json'))
    assert cat_to_id[COCO_CATEGORIES['tv']] == 20
    assert cat_to_id[COCO_CATEGORIES['airplane']] == 1
    assert COCO_CATEGORIES['bowl'] not in cat_to_id
    (info, anns), = [item for item in items if item[0]['id'] == 1]
    label = coco_voc.make_label(anns, H, W, cat_to_id)
    np.testing.assert_array_equal(label, _expected_label())


@pytest.mark.parametrize('min_fg,kept', [(4, True), (5, False)])
def test_min_foreground(coco_root, tmp_path, min_fg, kept):
    items, cat_to_id = coco_voc.load_coco(
        str(coco_root / 'annotations' / 'instances_train2017.json'))
    item, = [item for item in items if item[0]['id'] == 2]
    stem, fg = coco_voc.convert_image(item, cat_to_id, str(tmp_path), min_fg)
    assert (stem, fg) == ('000000000002', 4)
    assert osp.isfile(tmp_path / f'{stem}.png') == kept


def test_bad_segmentation(coco_root):
    bad = _ann(99, 1, 'car', dict(size=[H, W + 1], counts=CAR_RLE))
    with pytest.raises(ValueError, match='annotation 99'):
        coco_voc.make_label([bad], H, W, {COCO_CATEGORIES['car']: CAR})


def test_missing_category(tmp_path):
    path = tmp_path / 'instances_x.json'
    path.write_text(
        json.dumps(
            dict(
                images=[],
                annotations=[],
                categories=[dict(id=1, name='person')])))
    with pytest.raises(ValueError, match="'tv'"):
        coco_voc.load_coco(str(path))


@pytest.mark.slow
@pytest.mark.parametrize('copy', [False, True])
def test_coco_voc_converter(coco_root, tmp_path, copy):
    out = tmp_path / 'coco_voc'
    log = _run('coco_voc', coco_root, '-o', out, '--split', 'train2017',
               '--min-fg', 10, '--nproc', 1,
               *(['--copy-images'] if copy else []))
    assert 'kept 1 images' in log
    assert (out / 'train2017.txt').read_text() == '000000000001\n'
    labels = os.listdir(out / 'annotations' / 'train2017')
    assert labels == ['000000000001.png']
    label = np.asarray(
        Image.open(out / 'annotations' / 'train2017' / labels[0]))
    np.testing.assert_array_equal(label, _expected_label())
    images = out / 'images' / 'train2017'
    assert osp.islink(images) != copy
    assert ('000000000002.jpg' in os.listdir(images)) != copy

    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'coco-voc_512x512.py'))
    train = cfg.train_dataloader.dataset
    train.update(data_root=str(out), pipeline=LOADERS)
    ds = DATASETS.build(train)
    assert len(ds) == 1 and ds.metainfo['classes'][PERSON] == 'person'
    np.testing.assert_array_equal(ds[0]['gt_seg_map'], _expected_label())
    val = cfg.val_dataloader.dataset
    val.update(data_root=VOC_MINI, pipeline=LOADERS)
    assert len(DATASETS.build(val)) == 1
