from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankZeroLoggerHook(LoggerHook):
    """MMEngine's ``LoggerHook`` whose test metrics file is written once.

    MMEngine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test metrics
    to ``<log_dir>/<timestamp>.json`` on every rank, and all ranks share that
    path: under ``tools/dist_test.sh`` the processes write the file at the
    same time and it can come out corrupt (one rank's JSON with the tail of
    another's). Here only rank 0 logs and writes it; the evaluator has
    already gathered every rank's results there. Everything else is
    ``LoggerHook``'s, with the same arguments.
    """

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        if is_main_process():
            super().after_test_epoch(runner, metrics)
