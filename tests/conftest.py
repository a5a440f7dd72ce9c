import os.path as osp

import pytest

import mmseg_ext  # noqa: F401  registers models, datasets, safe globals

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAMVID_MINI = osp.join(REPO, 'data', 'camvid_mini')
VOC_MINI = osp.join(REPO, 'data', 'voc2012_mini', 'VOCdevkit', 'VOC2012')
DEMO_CFG = osp.join(
    REPO, 'configs', 'demo',
    'fcn8s_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py')


@pytest.fixture(autouse=True)
def _mmseg_scope():
    """Build transforms and models from mmseg's registries by default."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
