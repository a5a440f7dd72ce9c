"""The user's command `python tools/train.py configs/segnet_voc.py` works."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from ..conftest import REPO, VOC_MINI

CONFIG = osp.join(REPO, 'configs', 'segnet_voc.py')


def test_config_reads_plain_voc2012():
    cfg = Config.fromfile(CONFIG)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        dataset = loader.dataset
        assert dataset.type == 'PascalVOCDataset'
        assert dataset.data_root == 'data/VOCdevkit/VOC2012'
        assert dataset.data_prefix.seg_map_path == 'SegmentationClass'
    assert cfg.train_dataloader.dataset.ann_file.endswith('train.txt')
    assert cfg.val_dataloader.dataset.ann_file.endswith('val.txt')
    assert cfg.model.decode_head.type == 'SegNetHead'
    assert cfg.model.backbone.return_switches


@pytest.mark.slow
def test_train_command_runs(tmp_path):
    # the VOC 2012 layout the config expects, relative to the working dir
    os.makedirs(tmp_path / 'data' / 'VOCdevkit')
    os.symlink(VOC_MINI, tmp_path / 'data' / 'VOCdevkit' / 'VOC2012')
    work_dir = tmp_path / 'work'
    options = [
        'model.backbone.stage_channels=(4,8,8,16,16)',
        'model.decode_head.in_channels=[4,8,8,16,16]',
        'model.decode_head.channels=4',
        'train_dataloader.batch_size=2',
        'train_cfg.max_iters=2',
        'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
        ]
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir',
            str(work_dir), '--cfg-options'
        ] + options,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert osp.isfile(work_dir / 'iter_2.pth')
    assert 'Iter(train) [2/2]' in log
    assert 'mIoU' in log
    assert glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
