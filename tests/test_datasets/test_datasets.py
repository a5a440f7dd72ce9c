import os.path as osp

import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose
from PIL import Image

from mmseg.datasets import PascalVOCDataset
from mmseg_ext.datasets import CamVidDataset

from ..conftest import CAMVID_MINI, CAMVID_WEIGHTS, REPO, VOC_MINI

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


def test_camvid_loading_maps_void_to_ignore():
    ds = CamVidDataset(
        data_root=CAMVID_MINI,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        ann_file='train.txt',
        pipeline=PIPELINE)
    assert len(ds) == 60
    assert ds.metainfo['classes'][0] == 'Sky'
    assert len(ds.metainfo['palette']) == 11
    seen_void = False
    for i in range(0, len(ds), 10):
        info = ds.get_data_info(i)
        raw = np.array(Image.open(info['seg_map_path']))
        gt = ds[i]['gt_seg_map']
        assert gt.shape == raw.shape == (180, 240)
        assert set(np.unique(gt)) <= set(range(11)) | {255}
        assert np.array_equal(gt == 255, raw == 11)
        keep = raw != 11
        assert np.array_equal(gt[keep], raw[keep])
        seen_void |= bool((raw == 11).any())
    assert seen_void


def test_camvid_class_subset_still_ignores_void():
    ds = CamVidDataset(
        data_root=CAMVID_MINI,
        data_prefix=dict(img_path='val', seg_map_path='valannot'),
        ann_file='val.txt',
        metainfo=dict(classes=('Road', 'Car')),
        pipeline=PIPELINE)
    raw = np.array(Image.open(ds.get_data_info(0)['seg_map_path']))
    gt = ds[0]['gt_seg_map']
    assert np.array_equal(gt == 0, raw == 3)
    assert np.array_equal(gt == 1, raw == 8)
    assert np.array_equal(gt == 255, ~np.isin(raw, [3, 8]))
    assert len(ds.metainfo['palette']) == 2


def test_voc_loading_reads_palette_indices():
    ds = PascalVOCDataset(
        data_root=VOC_MINI,
        data_prefix=dict(img_path='JPEGImages',
                         seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=Compose(PIPELINE).transforms)
    assert len(ds) == 3
    for i in range(len(ds)):
        item = ds[i]
        gt = item['gt_seg_map']
        raw = np.array(Image.open(ds.get_data_info(i)['seg_map_path']))
        assert Image.open(ds.get_data_info(i)['seg_map_path']).mode == 'P'
        assert np.array_equal(gt, raw)
        ids = set(np.unique(gt).tolist())
        assert 255 in ids and ids - {255} <= set(range(21))
        assert item['img'].shape[:2] == gt.shape


def test_camvid_class_weights_live_in_the_dataset_base():
    """One copy: the base's ``balanced_loss``, SegNet's published values."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', 'camvid.py'))
    assert tuple(cfg.balanced_loss.class_weight) == CAMVID_WEIGHTS
    readme = open(osp.join(CAMVID_MINI, 'README.source.md')).read()
    assert ', '.join(f'{w:.4f}' for w in CAMVID_WEIGHTS) in readme
    assert not hasattr(CamVidDataset, 'CLASS_WEIGHTS')
