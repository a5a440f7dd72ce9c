import os.path as osp

import pytest

import mmseg_ext  # noqa: F401  registers models, datasets, safe globals

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAMVID_MINI = osp.join(REPO, 'data', 'camvid_mini')
VOC_MINI = osp.join(REPO, 'data', 'voc2012_mini', 'VOCdevkit', 'VOC2012')
DEMO_CFG = osp.join(
    REPO, 'configs', 'demo',
    'fcn8s_vgg16-bn-tiny_1xb8-1k_camvid-mini-180x240.py')


@pytest.fixture(autouse=True)
def _fresh_registry_scope():
    from mmengine.registry import DefaultScope
    yield
    DefaultScope._instance_dict.clear()
