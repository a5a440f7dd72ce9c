"""setup.py takes its requirements from requirements/*.txt, nothing else."""
import os.path as osp
import runpy
import setuptools

import pytest
from packaging.requirements import Requirement

from .conftest import REPO

EXTRAS = ('tests', 'optional', 'lint', 'build')


def _lines(name):
    """Requirement lines of ``requirements/{name}.txt``, read independently
    of setup.py: no comment lines, inline comments cut at `` #``."""
    with open(osp.join(REPO, 'requirements', f'{name}.txt')) as f:
        lines = [line.split(' #')[0].strip() for line in f]
    return [line for line in lines if line and not line.startswith('#')]


@pytest.fixture(scope='module')
def setup_kwargs():
    """What setup.py hands to ``setuptools.setup`` when pip runs it."""
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(setuptools, 'setup', lambda **kwargs: calls.append(kwargs))
        mp.chdir(REPO)
        runpy.run_path(osp.join(REPO, 'setup.py'), run_name='__main__')
    assert len(calls) == 1
    return calls[0]


def test_install_requires_is_runtime_txt(setup_kwargs):
    assert setup_kwargs['install_requires'] == _lines('runtime')
    # the stack that the package imports, as before the lists were merged
    names = {Requirement(r).name for r in setup_kwargs['install_requires']}
    assert {'torch', 'mmcv', 'mmengine', 'mmsegmentation'} <= names


def test_extras_are_the_other_files(setup_kwargs):
    extras = setup_kwargs['extras_require']
    assert sorted(extras) == sorted(EXTRAS)
    for name in EXTRAS:
        assert extras[name] == _lines(name), name


def test_every_requirement_is_valid_pep508(setup_kwargs):
    reqs = list(setup_kwargs['install_requires'])
    for extra in setup_kwargs['extras_require'].values():
        reqs += extra
    assert reqs
    for req in reqs:
        Requirement(req)  # raises InvalidRequirement on a comment left over


def test_parse_requirements(tmp_path):
    parse = runpy.run_path(osp.join(REPO, 'setup.py'))['parse_requirements']
    path = tmp_path / 'req.txt'
    path.write_text('# a comment\n\n  numpy  \n-r other.txt\n'
                    '--index-url https://example.org/simple\n'
                    'torch>=1.12  # CPU or CUDA build\n'
                    'pkg @ https://example.org/pkg.tar.gz#sha256=00\n')
    assert parse(str(path)) == [
        'numpy', 'torch>=1.12',
        'pkg @ https://example.org/pkg.tar.gz#sha256=00'
    ]
