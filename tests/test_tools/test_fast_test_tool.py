"""tools/test.py --fast: the plain model's metrics, also with --tta."""
import os.path as osp
import re
import subprocess
import sys

import pytest

from ..conftest import REPO
from .test_demos import SEGNET, make_checkpoint

pytestmark = pytest.mark.slow

OPTS = [
    '--cfg-options', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False'
]


def _test(args, work_dir):
    res = subprocess.run(
        [sys.executable, 'tools/test.py', SEGNET] + args +
        ['--work-dir', work_dir] + OPTS,
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = re.findall(r'(aAcc|mIoU|mAcc): ([\d.]+)',
                         res.stdout + res.stderr)
    assert len(metrics) == 3
    return metrics


def test_test_tool_fast(tmp_path):
    ckpt = make_checkpoint(SEGNET, str(tmp_path / 'segnet.pth'))
    plain = _test([ckpt], str(tmp_path / 'plain'))
    fast = _test([ckpt, '--fast'], str(tmp_path / 'fast'))
    # a float tie in a max-pooling window may pick the other switch on the
    # fast path (see CRFEncoderDecoder): the same metrics up to that
    assert [k for k, _ in fast] == [k for k, _ in plain]
    assert all(
        abs(float(a) - float(b)) <= 0.05
        for (_, a), (_, b) in zip(fast, plain)), (fast, plain)
    _test([ckpt, '--fast', '--tta'], str(tmp_path / 'tta'))
    assert osp.isdir(str(tmp_path / 'tta'))


def test_test_tool_fast_needs_our_segmentor(tmp_path):
    res = subprocess.run([
        sys.executable, 'tools/test.py', SEGNET,
        str(tmp_path / 'none.pth'), '--fast', '--cfg-options',
        'model.type=EncoderDecoder'
    ],
                         cwd=REPO,
                         text=True,
                         capture_output=True,
                         timeout=600)
    assert res.returncode != 0
    assert '--fast needs model.type=CRFEncoderDecoder' in res.stderr
