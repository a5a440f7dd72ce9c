"""Loading transforms that name the file when it cannot be used.

Registered in mmseg's transform registry as ``CheckedLoadImageFromFile`` and
``CheckedLoadAnnotations``; mmseg's ``LoadImageFromFile`` and
``LoadAnnotations`` stay what they are, so importing :mod:`mmseg_ext`
changes no stock pipeline. In the package's own registry scope
(:mod:`mmseg_ext.registry`) the standard names are these classes, for test
pipelines that ``MMSegInferencer`` and ``inference_model`` must recognise:
``dict(type='LoadImageFromFile', _scope_='mmseg_ext')``. On valid data both
behave exactly as mmcv's and mmseg's classes, which they subclass.
"""
import io
import logging
from typing import Optional

import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS
from PIL import Image

from ..engine.errors import DataError
from ..registry import TRANSFORMS as SCOPED_TRANSFORMS

#: PIL modes that hold one class id per pixel (``P``: palette indices).
ID_MODES = ('1', 'L', 'P', 'I', 'I;16', 'I;16L', 'I;16B')


@SCOPED_TRANSFORMS.register_module(name='LoadImageFromFile')
@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` with one clear error per unreadable image.

    A missing, corrupt or truncated image raises
    :class:`~mmseg_ext.engine.errors.DataError` naming the file, instead of
    an ``AssertionError``/``OSError`` deep in the data loader. With
    ``ignore_empty=True`` such an image is skipped with a logged warning
    (a training set then draws another sample; a test set cannot skip).
    Grayscale and 4-channel images are read as 3-channel BGR with the
    default ``color_type='color'`` (alpha is dropped), as in the base
    class. Arguments are those of :class:`mmcv.transforms.LoadImageFromFile`.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``."""
        path = results['img_path']
        try:
            out = super().transform(results)
        except FileNotFoundError:
            message = f'image file {path} does not exist'
        except AssertionError:  # the decoder returned nothing
            message = (f'cannot read image {path}: the file is corrupt, '
                       'truncated or not an image')
        except Exception as e:
            message = (f'cannot read image {path}: the file is corrupt, '
                       f'truncated or not an image ({_reason(e)})')
        else:
            if out is not None:
                return out
            message = f'cannot read image {path}'
        if self.ignore_empty:
            print_log(
                f'skipped: {message} (ignore_empty=True)',
                logger='current',
                level=logging.WARNING)
            return None
        raise DataError(message)


@SCOPED_TRANSFORMS.register_module(name='LoadAnnotations')
@TRANSFORMS.register_module()
class CheckedLoadAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that refuses label files it would misread.

    Each case raises :class:`~mmseg_ext.engine.errors.DataError` naming the
    label file: a missing file, a corrupt or truncated one, a colour image
    (e.g. RGB palette colours) where class ids are expected, ids above 255
    (the base class casts to ``uint8`` and would wrap them around), and a
    label whose size differs from its image's (load the image first). Ids
    outside the model's classes are checked per batch by
    :class:`~mmseg_ext.engine.hooks.CheckSegDataHook`, which knows
    ``num_classes``. Arguments are those of
    :class:`mmseg.datasets.transforms.LoadAnnotations`.
    """

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise DataError(f'label file {path} does not exist (for image '
                            f'{results.get("img_path")})') from None
        self._check_header(data, path)
        try:
            super()._load_seg_map(results)
        except OSError as e:  # PIL: truncated or undecodable
            raise DataError(f'cannot read label file {path}: the file is '
                            f'corrupt or truncated ({_reason(e)})') from None
        label_shape = results['gt_seg_map'].shape[:2]
        image_shape = results.get('ori_shape')
        if image_shape is not None and tuple(image_shape) != label_shape:
            raise DataError(
                f'label file {path} is {label_shape[1]}x{label_shape[0]} '
                f'(WxH) but its image {results.get("img_path")} is '
                f'{image_shape[1]}x{image_shape[0]}')

    @staticmethod
    def _check_header(data: bytes, path: str) -> None:
        """Refuse colour labels and ids that do not fit ``uint8``."""
        try:
            img = Image.open(io.BytesIO(data))
        except Exception as e:
            raise DataError(f'cannot read label file {path}: not an image '
                            f'({_reason(e)})') from None
        if img.mode not in ID_MODES:
            raise DataError(
                f'label file {path} is a colour image (mode {img.mode}), but '
                'one class id per pixel is expected (a single-channel or '
                'palette PNG); convert colour labels to ids first (CamVid\'s '
                'original release: tools/dataset_converters/camvid.py)')
        if img.mode.startswith('I'):
            try:
                top = int(np.asarray(img).max())
            except Exception as e:
                raise DataError(
                    f'cannot read label file {path}: the file '
                    f'is corrupt or truncated ({_reason(e)})') from None
            if top > 255:
                raise DataError(
                    f'label file {path} holds id {top}, but labels are read '
                    'as 8-bit ids (0-255, 255 = ignore)')


def _reason(error: Exception) -> str:
    """First line of an error message, or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
