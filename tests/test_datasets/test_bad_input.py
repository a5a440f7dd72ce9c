"""Bad input: one clear error naming the file or option, or it must work.

Every case runs through the loading transforms our configs use
(``CheckedLoadImageFromFile``, ``CheckedLoadAnnotations``), the data checks
of ``tools/train.py`` / ``tools/test.py`` (``check_datasets``) or the
``CheckSegDataHook`` of our runtime config.
"""
import logging
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from PIL import Image
from torch.utils.data import DataLoader

from mmseg_ext.datasets import check_datasets
from mmseg_ext.engine import CheckSegDataHook, ConfigError, DataError
from ..conftest import CAMVID_MINI, MINI_CFG, REPO

NAMES = ['0001TP_006690', '0001TP_006870', '0001TP_007050']
TINY = {
    'model.backbone.stage_channels': (4, 8, 8, 16, 16),
    'model.backbone.fc_channels': 16,
    'model.decode_head.in_channels': [8, 16, 16],
}


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and it keeps a busy CI
    machine from being oversubscribed (subprocesses get OMP_NUM_THREADS=1).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def root(tmp_path):
    """Three real CamVid images and labels in a fresh data root."""
    root = tmp_path / 'camvid'
    for sub, suffix in (('train', '.jpg'), ('trainannot', '.png')):
        os.makedirs(root / sub)
        for name in NAMES:
            shutil.copy(osp.join(CAMVID_MINI, sub, name + suffix), root / sub)
    (root / 'train.txt').write_text('\n'.join(NAMES) + '\n')
    return root


def _cfg(root=None):
    cfg = Config.fromfile(MINI_CFG)
    cfg.merge_from_dict(TINY)
    if root is not None:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.update(
                data_root=str(root),
                ann_file='train.txt',
                data_prefix=dict(img_path='train', seg_map_path='trainannot'))
    return cfg


def _dataset(root, **kwargs):
    """The demo's test split and pipeline (checked loaders) on ``root``."""
    init_default_scope('mmseg')
    cfg = _cfg(root).test_dataloader.dataset
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def _model(path=MINI_CFG, size=(180, 240)):
    """A narrow model of ``path``; training batches are padded to
    ``size``."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(path)
    cfg.model.data_preprocessor.size = size
    if cfg.model.backbone.type == 'VGG':
        cfg.model.backbone.update(
            stage_channels=(4, 8, 8, 16, 16), fc_channels=16)
        cfg.model.decode_head.in_channels = [8, 16, 16]
    else:  # ResNetV1c-50, as narrowed in tests/test_config.py
        cfg.model.backbone.update(
            base_channels=8, stem_channels=8, norm_cfg=dict(type='BN'))
        cfg.model.decode_head.in_channels = [64, 128, 256]
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _label(root, name=NAMES[0]):
    return str(root / 'trainannot' / (name + '.png'))


def _image(root, name=NAMES[0]):
    return str(root / 'train' / (name + '.jpg'))


def _raises(match_path, **kwargs):
    return pytest.raises(DataError, match=re.escape(str(match_path)))


# --- images -------------------------------------------------------------


def test_corrupt_image(root):
    with open(_image(root), 'wb') as f:
        f.write(np.random.RandomState(0).bytes(5000))
    with _raises(_image(root)) as e:
        _dataset(root)[0]
    assert 'corrupt, truncated or not an image' in str(e.value)
    assert _dataset(root)[1]['inputs'].shape == (3, 180, 240)


@pytest.mark.parametrize('suffix', ['.png', '.jpg'])
def test_truncated_image(root, suffix):
    path = _image(root).replace('.jpg', suffix)
    img = cv2.imread(_image(root))
    for name in NAMES:
        cv2.imwrite(_image(root, name).replace('.jpg', suffix), img)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with _raises(path):
        _dataset(root, img_suffix=suffix)[0]


def test_missing_image(root):
    os.remove(_image(root))
    with _raises(_image(root)) as e:
        _dataset(root)[0]
    assert 'does not exist' in str(e.value)


def test_unreadable_image_can_be_skipped_with_a_log(root):
    """``ignore_empty=True``: a training set draws another sample."""
    with open(_image(root), 'wb') as f:
        f.write(b'not an image')
    pipeline = _cfg().train_pipeline
    pipeline[0]['ignore_empty'] = True
    ds = _dataset(root, pipeline=pipeline, test_mode=False)
    with mock.patch('mmseg_ext.datasets.transforms.print_log') as log:
        assert ds[0]['inputs'].shape[0] == 3
    assert log.call_args[0][0].startswith(
        f'skipped: cannot read image {_image(root)}')
    assert log.call_args[1]['level'] == logging.WARNING


@pytest.mark.parametrize('mode', ['L', 'RGBA'])
def test_grayscale_and_4_channel_images_work(root, mode):
    rgb = Image.open(_image(root))
    png = _image(root).replace('.jpg', '.png')  # JPEG has no alpha
    rgb.convert(mode).save(png)
    sample = _dataset(root, img_suffix='.png')[0]
    img = sample['inputs']
    assert img.shape == (3, 180, 240)  # BGR, as for colour images
    if mode == 'L':
        assert torch.equal(img[0], img[1]) and torch.equal(img[1], img[2])
    else:  # alpha dropped, colours kept
        bgr = torch.from_numpy(np.asarray(rgb)[..., ::-1].copy())
        assert torch.equal(img.permute(1, 2, 0), bgr)
    model = _model().eval()
    with torch.no_grad():
        pred = model.test_step(pseudo_collate([sample]))[0]
    assert pred.pred_sem_seg.shape == (180, 240)


# --- labels -------------------------------------------------------------


def test_missing_label_file(root):
    os.remove(_label(root))
    with _raises(_label(root)) as e:
        _dataset(root)[0]
    assert 'does not exist' in str(e.value) and _image(root) in str(e.value)


def test_truncated_label_file(root):
    data = open(_label(root), 'rb').read()
    with open(_label(root), 'wb') as f:
        f.write(data[:len(data) // 2])
    with _raises(_label(root)):
        _dataset(root)[0]


def test_image_label_size_mismatch(root):
    label = Image.open(_label(root))
    label.resize((200, 150), Image.NEAREST).save(_label(root))
    with _raises(_label(root)) as e:
        _dataset(root)[0]
    assert '200x150' in str(e.value) and '240x180' in str(e.value)


def test_rgb_colour_label(root):
    """A label painted with the palette's colours instead of class ids."""
    ids = np.asarray(Image.open(_label(root)))
    palette = np.array(
        _dataset(root).metainfo['palette'] + [[0, 0, 0]], dtype=np.uint8)
    Image.fromarray(palette[ids]).save(_label(root))
    with _raises(_label(root)) as e:
        _dataset(root)[0]
    assert 'colour image (mode RGB)' in str(e.value)


def test_16_bit_label_ids_do_not_wrap(root):
    ids = np.asarray(Image.open(_label(root))).astype(np.uint16)
    ids[0, 0] = 256 + 3  # mmseg's uint8 cast would turn this into 3
    Image.fromarray(ids).save(_label(root))
    assert Image.open(_label(root)).mode.startswith('I')
    with _raises(_label(root)) as e:
        _dataset(root)[0]
    assert 'id 259' in str(e.value)


def _runner(model, dataset=None):
    loader = SimpleNamespace(dataset=dataset)
    return SimpleNamespace(
        model=model,
        train_dataloader=loader,
        val_dataloader=loader,
        test_dataloader=loader)


def test_label_ids_beyond_num_classes(root):
    ids = np.asarray(Image.open(_label(root))).copy()
    hook, model = CheckSegDataHook(), _model()
    batch = pseudo_collate([_dataset(root)[0]])
    hook.before_train_iter(_runner(model), 0, batch)  # 0-10 and void: fine
    ids[:10, :10] = 12
    ids[20, 20] = 30
    Image.fromarray(ids).save(_label(root))
    batch = pseudo_collate([_dataset(root)[0]])
    for check in (hook.before_train_iter, hook.before_val_iter,
                  hook.before_test_iter):
        with _raises(_label(root)) as e:
            check(_runner(model), 0, batch)
        assert 'class ids 12, 30' in str(e.value)
        assert 'num_classes=11' in str(e.value)
    # without the check the loss fails deep in torch, and IoUMetric would
    # silently drop those pixels
    data = model.data_preprocessor(batch, training=True)
    with pytest.raises(Exception) as raw:
        model(**data, mode='loss')
    assert 'out of bounds' in str(raw.value)


def test_model_num_classes_differs_from_dataset(root):
    dataset = _dataset(root)
    hook, model = CheckSegDataHook(), _model()
    hook.before_train(_runner(model, dataset))  # 11 == 11
    model.decode_head.num_classes = 21
    for check in (hook.before_train, hook.before_val, hook.before_test):
        with pytest.raises(ConfigError) as e:
            check(_runner(model, dataset))
        assert 'model.decode_head.num_classes is 21' in str(e.value)
        assert 'has 11 classes' in str(e.value)


# --- splits and roots ---------------------------------------------------


def test_empty_split(root):
    (root / 'train.txt').write_text('')
    with pytest.raises(DataError) as e:
        check_datasets(_cfg(root), ['train_dataloader'])
    assert 'train_dataloader.dataset is empty' in str(e.value)
    assert 'train.txt' in str(e.value)


def test_empty_image_folder_without_ann_file(root):
    cfg = _cfg(root)
    cfg.val_dataloader.dataset.ann_file = ''
    for name in NAMES:
        os.remove(_image(root, name))
    with pytest.raises(DataError, match='val_dataloader.dataset is empty'):
        check_datasets(cfg, ['val_dataloader'])


def test_missing_data_root(tmp_path):
    cfg = _cfg(tmp_path / 'nowhere')
    with pytest.raises(DataError) as e:
        check_datasets(cfg, ['train_dataloader', 'val_dataloader'])
    assert 'train_dataloader.dataset.data_root' in str(e.value)
    assert str(tmp_path / 'nowhere') in str(e.value)


def test_missing_ann_file(root):
    """mmseg would silently use every image in the folder instead."""
    os.remove(root / 'train.txt')
    with _raises(root / 'train.txt') as e:
        check_datasets(_cfg(root), ['test_dataloader'])
    assert 'test_dataloader.dataset.ann_file' in str(e.value)


def test_valid_data_passes_the_checks(root):
    check_datasets(_cfg(root), ['train_dataloader', 'val_dataloader'])


# --- sizes that are not multiples of 32 ----------------------------------


@pytest.mark.parametrize('config', [
    'configs/fcn/fcn8s_vgg16_1xb8-20k_camvid-360x480.py',
    'configs/fcn/fcn8s_r50_1xb8-20k_camvid-360x480.py'
])
def test_sizes_not_multiple_of_32_work(root, config):
    for name in NAMES:
        img = Image.open(_image(root, name)).resize((123, 97))
        img.save(_image(root, name))
        label = Image.open(_label(root, name))
        label.resize((123, 97), Image.NEAREST).save(_label(root, name))
    # the demo's test pipeline without its Resize to 240x180: the raw size
    pipeline = [t for t in _cfg(root).test_pipeline if t.type != 'Resize']
    dataset = _dataset(root, pipeline=pipeline)
    samples = [dataset[i] for i in range(2)]
    assert samples[0]['inputs'].shape == (3, 97, 123)
    model = _model(osp.join(REPO, config), size=(97, 123))
    data = model.data_preprocessor(pseudo_collate(samples), training=True)
    assert data['inputs'].shape[-2:] == (97, 123)
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    model.eval()
    with torch.no_grad():
        preds = model.test_step(pseudo_collate(samples))
    assert [p.pred_sem_seg.shape for p in preds] == [(97, 123)] * 2


# --- how the errors reach the user ---------------------------------------


def test_error_from_a_dataloader_worker_stays_one_line(root):
    with open(_image(root), 'wb') as f:
        f.write(b'not an image')
    loader = DataLoader(
        _dataset(root), batch_size=1, num_workers=1, collate_fn=pseudo_collate)
    with pytest.raises(DataError) as e:
        next(iter(loader))
    message = str(e.value)
    assert 'Traceback' not in message and '\n' not in message
    assert message.startswith(f'cannot read image {_image(root)}')
    assert message.endswith('(in DataLoader worker process 0)')


def _train_tool(root, *opts):
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''),
        OMP_NUM_THREADS='1')
    cmd = [
        sys.executable, 'tools/train.py', MINI_CFG, '--work-dir',
        str(root / 'work'), '--cfg-options'
    ] + [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()] + [
        'train_dataloader.batch_size=3', 'train_cfg.max_iters=2',
        'train_cfg.val_begin=100', 'param_scheduler.0.end=2'
    ] + list(opts)
    for key in ('train_dataloader', 'val_dataloader'):
        cmd += [
            f'{key}.dataset.data_root={root}',
            f'{key}.dataset.ann_file=train.txt',
            f'{key}.dataset.data_prefix.img_path=train',
            f'{key}.dataset.data_prefix.seg_map_path=trainannot'
        ]
    return subprocess.run(
        cmd, cwd=REPO, env=env, text=True, capture_output=True, timeout=600)


def _error_line(stderr):
    """The one line the tool prints for our errors."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith('DataError')]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


@pytest.mark.slow
def test_train_tool_reports_a_bad_image_in_one_line(root):
    """Raised in a DataLoader worker, printed by tools/train.py."""
    with open(_image(root, NAMES[1]), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + b'\0' * 100)
    res = _train_tool(root, 'train_dataloader.num_workers=2')
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert _error_line(res.stderr).startswith(
        f'DataError: cannot read image {_image(root, NAMES[1])}')


@pytest.mark.slow
def test_train_tool_reports_a_missing_data_root_in_one_line(tmp_path):
    res = _train_tool(tmp_path / 'nowhere')
    assert res.returncode != 0
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    assert _error_line(res.stderr).startswith(
        'DataError: train_dataloader.dataset.data_root: folder')
