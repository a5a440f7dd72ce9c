"""A run starts without setuptools' pkg_resources deprecation notices.

MMEngine imports pkg_resources to resolve ``mmseg::`` bases; setuptools >= 80
warns on each import, and a new user reads those lines as errors.
"""
import os
import subprocess
import sys
import warnings

import pytest

from ..conftest import MINI_CFG, REPO


@pytest.mark.slow
def test_tools_print_no_pkg_resources_warnings(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    env.pop('PYTHONWARNINGS', None)
    res = subprocess.run([
        sys.executable, 'tools/test.py', MINI_CFG, missing, '--work-dir',
        str(tmp_path)
    ],
                         cwd=REPO,
                         env=env,
                         text=True,
                         capture_output=True,
                         timeout=900)
    assert res.returncode != 0
    assert 'pkg_resources' not in res.stderr + res.stdout, res.stderr
    # and the one line that matters is there
    assert res.stderr.strip().splitlines()[-1] == (
        f'CheckpointError: checkpoint {missing} does not exist')


def test_other_warnings_still_show():
    # the filter import mmseg_ext installs (pytest restores the filters
    # after each test, so install it here rather than rely on the import)
    from mmseg_ext.utils import silence_pkg_resources_warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        silence_pkg_resources_warning()
        warnings.warn('something else', UserWarning)
        warnings.warn('pkg_resources is deprecated as an API', UserWarning)
    assert [str(w.message) for w in caught] == ['something else']
