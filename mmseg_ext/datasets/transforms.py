"""Loading transforms that name the file when it cannot be used.

Registered in mmseg's transform registry as ``CheckedLoadImageFromFile`` and
``CheckedLoadAnnotations``; mmseg's ``LoadImageFromFile`` and
``LoadAnnotations`` stay what they are, so importing :mod:`mmseg_ext`
changes no stock pipeline. In the package's own registry scope
(:mod:`mmseg_ext.registry`) the standard names are these classes, for test
pipelines that ``MMSegInferencer`` and ``inference_model`` must recognise:
``dict(type='LoadImageFromFile', _scope_='mmseg_ext')``. On valid data both
behave exactly as mmcv's and mmseg's classes, which they subclass.

Both can keep what they decoded in memory (``cache_mb``): on a 2-core CPU
the data loader's workers share the cores with the training step, and
decoding CamVid's PNGs again every epoch is most of their work.
"""
import io
import logging
from collections import OrderedDict
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


class ArrayCache:
    """Decoded arrays by file path, least recently used dropped past a size.

    One per transform and process (each data loader worker fills its own;
    with ``persistent_workers=True`` they last the whole run). Arrays go in
    and come out as copies, so the transforms after the loader may change
    theirs in place. Files are assumed not to change during a run.

    Args:
        max_mb (float): Most megabytes (2**20 bytes) of arrays kept.
    """

    def __init__(self, max_mb: float):
        if max_mb < 0:
            raise ValueError(f'`cache_mb` must be >= 0, got {max_mb}')
        self.max_bytes = int(max_mb * 2**20)
        self.nbytes = 0
        self._arrays: 'OrderedDict[str, np.ndarray]' = OrderedDict()

    def __len__(self) -> int:
        return len(self._arrays)

    def get(self, key: str) -> Optional[np.ndarray]:
        """A copy of the array kept for ``key``, or None."""
        array = self._arrays.get(key)
        if array is None:
            return None
        self._arrays.move_to_end(key)
        return array.copy()

    def put(self, key: str, array: np.ndarray) -> None:
        """Keep a copy of ``array`` (not if it alone exceeds the size)."""
        if array.nbytes > self.max_bytes or key in self._arrays:
            return
        self._arrays[key] = array.copy()
        self.nbytes += array.nbytes
        while self.nbytes > self.max_bytes:
            _, dropped = self._arrays.popitem(last=False)
            self.nbytes -= dropped.nbytes


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
    class.

    Args:
        cache_mb (float): Keep up to this many megabytes of decoded images
            in memory (:class:`ArrayCache`, per data loader worker) and
            serve them from there when they come again. Default: 0 (decode
            every time, as the base class).
        **kwargs: Those of :class:`mmcv.transforms.LoadImageFromFile`.
    """

    def __init__(self, cache_mb: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.cache = ArrayCache(cache_mb) if cache_mb else None

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image at ``results['img_path']``."""
        path = results['img_path']
        if self.cache is not None:
            img = self.cache.get(path)
            if img is not None:
                results['img'] = img
                results['img_shape'] = results['ori_shape'] = img.shape[:2]
                return results
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
                if self.cache is not None:
                    self.cache.put(path, out['img'])
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
    ``num_classes``.

    Args:
        cache_mb (float): Keep up to this many megabytes of decoded labels
            in memory (as :class:`CheckedLoadImageFromFile`); a label served
            from there is checked against its image's size again, the rest
            of the checks ran when it was read. Default: 0.
        **kwargs: Those of :class:`mmseg.datasets.transforms.LoadAnnotations`.
    """

    def __init__(self, cache_mb: float = 0, **kwargs):
        super().__init__(**kwargs)
        self.cache = ArrayCache(cache_mb) if cache_mb else None

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        label = None if self.cache is None else self.cache.get(path)
        if label is not None:
            results['gt_seg_map'] = label
            results['seg_fields'].append('gt_seg_map')
            self._check_size(results, path)
            return
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
        self._check_size(results, path)
        if self.cache is not None:
            self.cache.put(path, results['gt_seg_map'])

    @staticmethod
    def _check_size(results: dict, path: str) -> None:
        """Refuse a label whose size differs from its image's."""
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
