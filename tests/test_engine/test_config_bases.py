"""The package's runtime and schedule bases combine with mmseg's bases."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from ..conftest import REPO

# A fresh process: nothing has imported mmseg_ext when the hooks are built.
BUILD_HOOKS = r'''
import sys
from mmengine.config import Config
from mmengine.registry import HOOKS, init_default_scope
cfg = Config.fromfile(sys.argv[1])
assert 'mmseg_ext' not in sys.modules
init_default_scope(cfg.default_scope)
hooks = [HOOKS.build(cfg.default_hooks.checkpoint)]
hooks += [HOOKS.build(hook) for hook in cfg.custom_hooks]
print(' '.join(type(hook).__name__ for hook in hooks))
print(hooks[0].backend_args)
'''


@pytest.mark.slow
def test_runtime_and_schedule_next_to_a_stock_model_base(tmp_path):
    base = osp.join(REPO, 'configs', '_base_')
    cfg = tmp_path / 'fcn_stock_model.py'
    cfg.write_text('_base_ = [\n'
                   "    'mmseg::_base_/models/fcn_r50-d8.py',\n"
                   f"    '{base}/default_runtime.py',\n"
                   f"    '{base}/schedules/schedule_20k.py',\n"
                   ']\n')
    env = dict(os.environ, PYTHONPATH=REPO)
    res = subprocess.run([sys.executable, '-c', BUILD_HOOKS,
                          str(cfg)],
                         cwd=str(tmp_path),
                         env=env,
                         text=True,
                         capture_output=True,
                         timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    names, backend = res.stdout.splitlines()[-2:]
    assert names.split()[:3] == [
        'SafeCheckpointHook', 'CheckInvalidLossHook', 'CheckSegDataHook'
    ]
    assert backend == "{'backend': 'atomic_local'}"
