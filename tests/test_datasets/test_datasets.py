import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_ext.datasets import CamVidDataset, check_datasets
from mmseg_ext.engine import DataError
from ..conftest import CAMVID_MINI, CAMVID_WEIGHTS, REPO, VOC_MINI

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


def test_camvid_loading_maps_void_to_ignore():
    ds = CamVidDataset(
        data_root=CAMVID_MINI,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        ann_file='train.txt',
        img_suffix='.jpg',
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
        img_suffix='.jpg',
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
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
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


def test_camvid_ignores_blank_lines_of_the_split_file(tmp_path):
    names = open(osp.join(CAMVID_MINI, 'val.txt')).read().split()[:3]
    split = tmp_path / 'split.txt'
    split.write_text(f'{names[0]}\n\n{names[1]}\n   \n{names[2]}\n\n')
    ds = CamVidDataset(
        data_root=CAMVID_MINI,
        data_prefix=dict(img_path='val', seg_map_path='valannot'),
        ann_file=str(split),
        img_suffix='.jpg',
        pipeline=PIPELINE)
    assert len(ds) == 3
    assert [osp.basename(ds.get_data_info(i)['img_path'])
            for i in range(3)] == [n + '.jpg' for n in names]


def test_blank_split_line_is_named_for_mmseg_datasets(tmp_path):
    """mmseg's data sets read a blank line as an image named ``.jpg``."""
    split = tmp_path / 'train.txt'
    lines = open(osp.join(VOC_MINI, 'ImageSets', 'Segmentation',
                          'train.txt')).read().split()
    split.write_text(f'{lines[0]}\n{lines[1]}\n\n{lines[2]}\n')
    init_default_scope('mmseg')
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='PascalVOCDataset',
                    data_root=VOC_MINI,
                    data_prefix=dict(
                        img_path='JPEGImages',
                        seg_map_path='SegmentationClass'),
                    ann_file=str(split),
                    pipeline=[]))))
    with pytest.raises(DataError) as e:
        check_datasets(cfg, ['train_dataloader'])
    assert str(e.value) == (f'train_dataloader.dataset.ann_file: line 3 of '
                            f'{split} is blank; remove it (it names no '
                            'image)')


def test_embedded_camvid_holds_every_train_and_val_image():
    """``data/camvid_mini``: all train / val images at 240x180 (JPEG, labels
    PNG); ``train.txt`` / ``val.txt`` list a quick subset of them."""
    for split, total, quick in (('train', 367, 60), ('val', 101, 24)):
        every = open(osp.join(CAMVID_MINI, split + '_all.txt')).read().split()
        picked = open(osp.join(CAMVID_MINI, split + '.txt')).read().split()
        assert len(every) == len(set(every)) == total
        assert len(picked) == len(set(picked)) == quick
        assert set(picked) <= set(every)
        for sub, suffix in ((split, '.jpg'), (split + 'annot', '.png')):
            files = os.listdir(osp.join(CAMVID_MINI, sub))
            assert sorted(files) == sorted(s + suffix for s in every), sub
    img = Image.open(osp.join(CAMVID_MINI, 'val', picked[0] + '.jpg'))
    label = Image.open(osp.join(CAMVID_MINI, 'valannot', picked[0] + '.png'))
    assert img.format == 'JPEG' and img.size == label.size == (240, 180)
    assert label.mode == 'L'


def test_embedded_data_stays_within_10_mb():
    total = sum(
        osp.getsize(osp.join(folder, name))
        for folder, _, names in os.walk(osp.join(REPO, 'data'))
        for name in names)
    assert total <= 10 * 2**20, f'{total / 2**20:.1f} MiB'


def test_demo_uses_every_embedded_image():
    """``make demo``'s config (the Makefile's ``DEMO_CFG``) trains on the 367
    embedded train images and evaluates the 101 val images."""
    make = open(osp.join(REPO, 'Makefile')).read()
    path = re.search(r'^DEMO_CFG := (\S+)$', make, re.M).group(1)
    cfg = Config.fromfile(osp.join(REPO, path))
    init_default_scope('mmseg')
    train, val = (
        DATASETS.build(dict(cfg[key].dataset, data_root=CAMVID_MINI))
        for key in ('train_dataloader', 'test_dataloader'))
    assert (len(train), len(val)) == (367, 101)
    crop_h, crop_w = cfg.crop_size
    h, w = train[0]['inputs'].shape[1:]
    assert h <= crop_h and w <= crop_w
    assert val[0]['inputs'].shape == (3, 180, 240)


@pytest.mark.parametrize('name', [
    'segnet/segnet_vgg16-bn-w16_1xb8-cpu30m_camvid-180x240.py',
    'unet/unet_vgg16-bn-w16_1xb8-cpu30m_camvid-180x240.py'
])
def test_half_resolution_recipes_score_at_the_labels_size(tmp_path, name):
    """The half-resolution CPU recipes train on 96x128 crops of CamVid at
    240x180 and test at 240x180, but the prediction that is scored has the
    labels' 480x360 (the metric is the full-resolution one)."""
    from mmseg.registry import MODELS
    root = tmp_path / 'camvid'
    os.makedirs(root / 'val')
    os.makedirs(root / 'valannot')
    stem = open(osp.join(CAMVID_MINI, 'val.txt')).read().split()[0]
    img = Image.open(osp.join(CAMVID_MINI, 'val', stem + '.jpg'))
    img.resize((480, 360), Image.BILINEAR).save(root / 'val' / (stem + '.png'))
    label = Image.open(osp.join(CAMVID_MINI, 'valannot', stem + '.png'))
    label = label.resize((480, 360), Image.NEAREST)
    label.save(root / 'valannot' / (stem + '.png'))
    (root / 'val.txt').write_text(stem + '\n')
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    split = dict(
        data_root=str(root),
        ann_file='val.txt',
        data_prefix=dict(img_path='val', seg_map_path='valannot'))
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, **split))
    for _ in range(3):  # random scale 0.75-1.5 of 240x180: always 96x128
        assert train[0]['inputs'].shape == (3, 96, 128)
    val = DATASETS.build(dict(cfg.val_dataloader.dataset, **split))[0]
    assert val['inputs'].shape == (3, 180, 240)
    assert val['data_samples'].gt_sem_seg.data.shape == (1, 360, 480)
    cfg.model.backbone.stage_channels = (4, 8, 8, 16, 16)
    cfg.model.decode_head.in_channels = [4, 8, 8, 16, 16]
    if 'decoder_channels' in cfg.model.decode_head:
        cfg.model.decode_head.decoder_channels = [4, 4, 8, 8]
    else:
        cfg.model.decode_head.channels = 4
    model = MODELS.build(cfg.model).eval()
    batch = dict(inputs=[val['inputs']], data_samples=[val['data_samples']])
    pred = model.test_step(batch)[0]
    assert pred.pred_sem_seg.data.shape == (1, 360, 480)
    assert pred.seg_logits.data.shape == (11, 360, 480)


@pytest.mark.parametrize('name', [
    'dilatednet/dilatednet_vgg16-bn-w16_1xb8-cpu30m_camvid-180x240.py',
    'deeplabv1/deeplabv1-largefov_vgg16-bn-w16_1xb8-cpu30m_camvid-180x240.py'
])
def test_dilated_half_resolution_recipes_test_in_training_crops(name):
    """The dilated half-resolution recipes test in sliding windows of their
    training crops (their wide dilations then see the padding they were
    trained with) and still score a whole 480x360 prediction."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(REPO, 'configs', name))
    test_cfg = cfg.model.test_cfg
    assert test_cfg.mode == 'slide'
    assert tuple(test_cfg.crop_size) == tuple(cfg.crop_size) == (96, 128)
    assert tuple(test_cfg.stride) == (48, 64)  # half overlapping
    cfg.model.backbone.stage_channels = (4, 8, 8, 16, 16)
    cfg.model.backbone.fc_channels = 16
    cfg.model.decode_head.in_channels = 16
    if 'channels' in cfg.model.decode_head:
        cfg.model.decode_head.channels = 16
    model = MODELS.build(cfg.model).eval()
    windows = []
    model.backbone.register_forward_pre_hook(
        lambda m, args: windows.append(tuple(args[0].shape[2:])))
    sample = SegDataSample(
        metainfo=dict(
            img_shape=(180, 240),
            ori_shape=(360, 480),
            pad_shape=(180, 240),
            scale_factor=(0.5, 0.5),
            flip=False))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 360, 480).long())
    with torch.no_grad():
        pred = model.test_step(
            dict(
                inputs=[
                    torch.randint(0, 255, (3, 180, 240), dtype=torch.uint8)
                ],
                data_samples=[sample]))[0]
    # 3 x 3 half-overlapping windows of 96x128 cover 180x240
    assert windows == [(96, 128)] * 9
    assert pred.pred_sem_seg.data.shape == (1, 360, 480)
