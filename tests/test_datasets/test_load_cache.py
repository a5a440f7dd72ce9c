"""The loading transforms' in-memory cache (``cache_mb``) and the CPU
recipes' loaders that use it."""
import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config

from mmseg_ext.datasets.transforms import (ArrayCache, CheckedLoadAnnotations,
                                           CheckedLoadImageFromFile)
from mmseg_ext.engine import DataError
from ..conftest import CAMVID_MINI, REPO

NAME = '0001TP_006690'
#: CamVid's train split: 367 images of 480x360, BGR uint8
CAMVID_TRAIN_BYTES = 367 * 480 * 360 * 3


@pytest.fixture
def files(tmp_path):
    """One real CamVid image and its label, in a folder of their own."""
    image = tmp_path / (NAME + '.jpg')
    label = tmp_path / (NAME + '.png')
    shutil.copy(osp.join(CAMVID_MINI, 'train', NAME + '.jpg'), image)
    shutil.copy(osp.join(CAMVID_MINI, 'trainannot', NAME + '.png'), label)
    return str(image), str(label)


def _results(image, label):
    return dict(
        img_path=image,
        seg_map_path=label,
        reduce_zero_label=False,
        seg_fields=[])


def test_array_cache_keeps_copies_and_drops_the_least_recently_used():
    mb = 2**20
    cache = ArrayCache(max_mb=2.5)
    first = np.zeros(mb, np.uint8)
    cache.put('a', first)
    first[:] = 7  # the caller's array is not the kept one
    assert cache.get('a').max() == 0
    got = cache.get('a')
    got[:] = 9  # nor is the one handed out
    assert cache.get('a').max() == 0
    cache.put('b', np.ones(mb, np.uint8))
    cache.get('a')  # 'a' is now the most recently used
    cache.put('c', np.full(mb, 2, np.uint8))  # 3 MB > 2.5: 'b' goes
    assert cache.get('b') is None
    assert cache.get('a') is not None and cache.get('c') is not None
    assert len(cache) == 2 and cache.nbytes == 2 * mb
    cache.put('huge', np.zeros(3 * mb, np.uint8))  # larger than the cache
    assert cache.get('huge') is None and len(cache) == 2
    with pytest.raises(ValueError, match='cache_mb'):
        ArrayCache(-1)


def test_cached_image_equals_the_decoded_one_without_the_file(files):
    image, label = files
    plain = CheckedLoadImageFromFile().transform(_results(image, label))
    load = CheckedLoadImageFromFile(cache_mb=8)
    first = load.transform(_results(image, label))
    first['img'][:] = 0  # later transforms may change theirs in place
    os.remove(image)  # the second load must not read the file
    second = load.transform(_results(image, label))
    np.testing.assert_array_equal(second['img'], plain['img'])
    assert second['img_shape'] == second['ori_shape'] == plain['img_shape']
    with pytest.raises(DataError, match=NAME):  # no cache: named error
        CheckedLoadImageFromFile().transform(_results(image, label))


def test_cached_label_equals_the_decoded_one_and_is_size_checked(files):
    image, label = files
    results = CheckedLoadImageFromFile().transform(_results(image, label))
    plain = CheckedLoadAnnotations().transform(dict(results, seg_fields=[]))
    load = CheckedLoadAnnotations(cache_mb=8)
    first = load.transform(dict(results, seg_fields=[]))
    first['gt_seg_map'][:] = 255
    os.remove(label)
    second = load.transform(dict(results, seg_fields=[]))
    np.testing.assert_array_equal(second['gt_seg_map'], plain['gt_seg_map'])
    assert second['seg_fields'] == ['gt_seg_map']
    # a label served from the cache is still checked against its image
    with pytest.raises(DataError, match=NAME + r'\.png is \d+x\d+'):
        load.transform(dict(results, ori_shape=(90, 120), seg_fields=[]))


def _cpu_recipes():
    return sorted(
        glob.glob(osp.join(REPO, 'configs', '*', '*cpu30m_camvid*.py')))


@pytest.mark.parametrize(
    'path', _cpu_recipes(), ids=lambda p: osp.basename(p)[:-3])
def test_cpu_recipes_load_in_process_from_a_cache_of_the_train_split(path):
    """No loader workers competing with the step for the two cores, and a
    cache large enough for all of CamVid's train images and labels."""
    loader = Config.fromfile(path).train_dataloader
    assert loader.num_workers == 0 and not loader.persistent_workers
    image, label = loader.dataset.pipeline[:2]
    assert image.type == 'CheckedLoadImageFromFile'
    assert label.type == 'CheckedLoadAnnotations'
    assert image.cache_mb * 2**20 >= CAMVID_TRAIN_BYTES
    assert label.cache_mb * 2**20 >= CAMVID_TRAIN_BYTES // 3
