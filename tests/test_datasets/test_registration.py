"""Importing mmseg_ext adds names; it never changes what mmseg's mean."""
from mmcv.transforms import LoadImageFromFile
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from mmseg_ext.datasets import CheckedLoadAnnotations, CheckedLoadImageFromFile


def test_mmseg_loaders_stay_the_originals():
    # conftest imported mmseg_ext, as a config's custom_imports would
    assert TRANSFORMS.get('LoadImageFromFile') is LoadImageFromFile
    assert TRANSFORMS.get('LoadAnnotations') is LoadAnnotations
    assert type(ROOT_TRANSFORMS.build(
        dict(type='LoadImageFromFile'))) is LoadImageFromFile
    assert type(ROOT_TRANSFORMS.build(
        dict(type='LoadAnnotations'))) is LoadAnnotations


def test_checked_loaders_by_their_own_names():
    assert TRANSFORMS.get('CheckedLoadImageFromFile') is (
        CheckedLoadImageFromFile)
    assert TRANSFORMS.get('CheckedLoadAnnotations') is CheckedLoadAnnotations


def test_package_scope_gives_the_checked_loaders():
    """What the test pipelines use: mmseg's step names, checked classes."""
    for name, cls in [('LoadImageFromFile', CheckedLoadImageFromFile),
                      ('LoadAnnotations', CheckedLoadAnnotations)]:
        built = ROOT_TRANSFORMS.build(dict(type=name, _scope_='mmseg_ext'))
        assert type(built) is cls
        assert TRANSFORMS.get(f'mmseg_ext.{name}') is cls
    # other names fall back to mmseg's
    resize = ROOT_TRANSFORMS.build(
        dict(type='Resize', scale=(8, 8), _scope_='mmseg_ext'))
    assert type(resize).__name__ == 'Resize'
