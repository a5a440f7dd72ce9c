"""RankZeroLoggerHook: the test metrics' JSON is written by rank 0 only."""
import glob
import os.path as osp
from unittest import mock

from mmengine.config import Config

from mmseg_ext.engine.hooks import RankZeroLoggerHook, rank_zero_logger_hook


def _runner(tmp_path):
    runner = mock.MagicMock()
    runner.log_dir = str(tmp_path)
    runner.timestamp = 'stamp'
    runner.log_processor.get_log_after_epoch.return_value = (dict(mIoU=50.0),
                                                             'mIoU: 50.0')
    return runner


def _test_epoch(tmp_path, main: bool):
    hook = RankZeroLoggerHook()
    runner = _runner(tmp_path)
    hook.before_run(runner)
    with mock.patch.object(
            rank_zero_logger_hook, 'is_main_process', return_value=main):
        hook.after_test_epoch(runner, dict(mIoU=50.0))
    return glob.glob(osp.join(str(tmp_path), '*.json'))


def test_rank_zero_writes_the_metrics(tmp_path):
    assert [osp.basename(f)
            for f in _test_epoch(tmp_path, True)] == ['stamp.json']


def test_other_ranks_write_nothing(tmp_path):
    assert _test_epoch(tmp_path, False) == []


def test_package_schedules_use_it():
    for name in ('schedule_20k', 'schedule_40k', 'schedule_80k',
                 'schedule_cpu30m_adamw'):
        cfg = Config.fromfile(f'configs/_base_/schedules/{name}.py')
        assert cfg.default_hooks.logger.type == 'mmseg_ext.RankZeroLoggerHook'
        assert cfg.default_hooks.logger.interval == 50
