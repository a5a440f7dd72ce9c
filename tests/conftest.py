import copy
import functools
import os.path as osp

import pytest
from mmengine.config import Config

import mmseg_ext  # noqa: F401  registers models, datasets, safe globals

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAMVID_MINI = osp.join(REPO, 'data', 'camvid_mini')
VOC_MINI = osp.join(REPO, 'data', 'voc2012_mini', 'VOCdevkit', 'VOC2012')
#: SegNet's median-frequency CamVid class weights, as the data README lists
#: them; the dataset base's ``balanced_loss`` holds the package's one copy.
CAMVID_WEIGHTS = (0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446,
                  1.8418, 0.6823, 6.2478, 7.3614)
#: The tests' small real model: a narrow FCN-8s on the quick split of the
#: embedded CamVid (``train.txt`` / ``val.txt``: 60 / 24 images)
MINI_CFG = osp.join(REPO, 'configs', 'fcn',
                    'fcn8s_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py')


@functools.lru_cache(maxsize=None)
def _parsed_config(path: str) -> Config:
    return Config.fromfile(path)


def load_config(path: str) -> Config:
    """``Config.fromfile(path)``, parsed once per session (about 0.4 s of CPU
    each, mostly resolving ``mmseg::`` bases); a copy for every caller."""
    return copy.deepcopy(_parsed_config(osp.abspath(path)))


@pytest.fixture(autouse=True)
def _mmseg_scope():
    """Build transforms and models from mmseg's registries by default."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
