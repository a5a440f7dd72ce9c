"""Every config parses, and its model builds and runs on CPU."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from .conftest import REPO, load_config

CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=lambda p: osp.relpath(p, osp.join(REPO, 'configs')))
def test_config_builds(path):
    cfg = load_config(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert key in cfg, key
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert cfg.model.decode_head.num_classes == model.decode_head.out_channels
    assert sum(p.numel() for p in model.parameters()) > 0


def _samples(n, h, w, num_classes):
    samples = []
    for _ in range(n):
        s = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, num_classes, (1, h, w))))
        s.set_metainfo(
            dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        samples.append(s)
    return samples


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if 'camvid' in osp.basename(p)],
    ids=lambda p: osp.basename(p))
def test_config_model_modes(path):
    """loss / predict / tensor on a 1x3x97x123 input, narrowed widths."""
    cfg = load_config(path)
    if cfg.model.backbone.type == 'VGG':
        num_stages = len(cfg.model.backbone.get('stage_channels', range(5)))
        cfg.model.backbone.stage_channels = (4, 8, 8, 16, 16)[:num_stages]
        widths = [4, 8, 8, 16, 16][:num_stages] + [12]
        if cfg.model.backbone.get('with_fc'):
            cfg.model.backbone.fc_channels = 12
    else:
        cfg.model.backbone.base_channels = 8
        cfg.model.backbone.stem_channels = 8
        widths = [8 * 4 * 2**i for i in range(4)]
    head = cfg.model.decode_head
    outs = cfg.model.backbone.out_indices
    if isinstance(head.in_channels, (list, tuple)):
        head.in_channels = [widths[i] for i in outs]
    else:
        full = head.in_channels
        head.in_channels = widths[outs[head.get('in_index', -1)]]
        if head.get('channels') == full:
            head.channels = head.in_channels
    cfg.model.data_preprocessor.size = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    num_classes = head.num_classes
    inputs = torch.randn(1, 3, 97, 123)
    model.train()
    losses = model(inputs, _samples(1, 97, 123, num_classes), mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss).all()
    model.eval()
    with torch.no_grad():
        preds = model(
            inputs, _samples(1, 97, 123, num_classes), mode='predict')
        logits = model(inputs, mode='tensor')
    assert preds[0].pred_sem_seg.shape == (97, 123)
    assert logits.shape[:2] == (1, num_classes)
