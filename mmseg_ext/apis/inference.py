"""Segment images with a trained model, in PyTorch or ONNX Runtime.

The demos and ``tools/analysis_tools/vis_decoder.py`` segment through
:class:`Segmenter`, so that a model exported by
``tools/deployment/pytorch2onnx.py`` gives the labels its checkpoint gives:
both backends share mmseg's pre- and post-processing, and only the network
between them differs.
"""
import copy
import os
import os.path as osp
import sys
from typing import Dict, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from mmengine.utils import mkdir_or_exist
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample
from PIL import Image
from torch import Tensor

from ..engine.errors import ConfigError, DataError
from ..models.utils import DenseCRF

BACKENDS = ('pytorch', 'onnxruntime')


class Segmenter:
    """Segment BGR images the same way in PyTorch and ONNX Runtime.

    The steps are those of :func:`mmseg.apis.inference_model` and
    ``EncoderDecoder.predict``, shared by both backends:

    1. the config's ``test_pipeline`` with the image given in memory and
       without annotations (so its ``Resize``), then the model's data
       preprocessor (BGR to RGB, mean and std, test-time padding);
    2. the network's logits at the input's size: ``model.inference``
       (PyTorch) or the exported graph, which ends at the decode head's
       logits (``mode='tensor'``), resized bilinearly as the head does;
    3. padding removed, the logits resized bilinearly to the image's size,
       an optional dense CRF on the original image
       (:class:`~mmseg_ext.models.CRFEncoderDecoder`'s), then the argmax.

    An ONNX model exported for a fixed input size (the default of
    ``pytorch2onnx.py``) gets every image resized to exactly that size in
    step 1; images the test pipeline already brings to that size give the
    PyTorch model's labels.

    Args:
        config (str | Config): The model's config.
        checkpoint (str): A checkpoint (``'pytorch'``) or an ONNX file
            (``'onnxruntime'``).
        backend (str, optional): ``'pytorch'`` or ``'onnxruntime'``.
            Default: ``'onnxruntime'`` for a ``.onnx`` file, else
            ``'pytorch'``.
        device (str): Where the network runs. Default: ``'cpu'``.
        crf (bool | dict, optional): The dense CRF: ``None`` as the config
            sets ``model.test_cfg.crf``, ``False`` off, ``True`` on with the
            config's settings (DenseCRF's defaults if it has none), or a dict
            of :class:`~mmseg_ext.models.DenseCRF` arguments.
        scale (tuple[int, int], optional): ``(width, height)`` for the test
            pipeline's ``Resize`` instead of the config's (keeping its
            ``keep_ratio``); a smaller input runs faster. Default: None.
        cfg_options (dict, optional): Overrides of the config.
        fast (bool | dict, optional): ``model.test_cfg.fast`` of
            :class:`~mmseg_ext.models.CRFEncoderDecoder` (``'pytorch'``
            only), e.g. ``True`` or ``dict(compile=True)``: ``None`` as the
            config sets it. Default: None.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: str,
                 backend: Optional[str] = None,
                 device: str = 'cpu',
                 crf: Union[bool, dict, None] = None,
                 scale: Optional[Sequence[int]] = None,
                 cfg_options: Optional[dict] = None,
                 fast: Union[bool, dict, None] = None):
        cfg = (
            Config.fromfile(config)
            if isinstance(config, str) else copy.deepcopy(config))
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if fast is not None:
            cfg.model.test_cfg = dict(
                cfg.model.get('test_cfg') or {}, fast=fast)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        if backend is None:
            backend = ('onnxruntime'
                       if str(checkpoint).endswith('.onnx') else 'pytorch')
        if backend not in BACKENDS:
            raise ConfigError(f'backend must be one of {BACKENDS}, got '
                              f'{backend!r}')
        if not osp.isfile(checkpoint):
            raise ConfigError(f'checkpoint {checkpoint} does not exist')
        if fast and backend != 'pytorch':
            raise ConfigError('fast inference is for the pytorch backend; '
                              f'{backend} optimises {checkpoint} itself')
        self.cfg = cfg
        self.backend = backend
        head = cfg.model.decode_head
        self.align_corners = head.get('align_corners', False)
        self.num_classes = head.num_classes
        self.threshold = head.get('threshold') or 0.3  # mmseg's default
        keep_ratio = None
        if backend == 'pytorch':
            self.model, self.dataset_meta = self._load_model(
                cfg, checkpoint, device)
            self.preprocessor = self.model.data_preprocessor
        else:
            self.model = None
            self.session, fixed = self._load_onnx(checkpoint, device)
            self.preprocessor = MODELS.build(cfg.model.data_preprocessor)
            self.dataset_meta = dataset_meta_of(cfg)
            if fixed is not None:
                if scale is not None and tuple(scale) != fixed[::-1]:
                    raise ConfigError(
                        f'{checkpoint} takes a fixed {fixed[1]}x{fixed[0]} '
                        f'(WxH) input, not {scale[0]}x{scale[1]}: export '
                        'it at that size (pytorch2onnx.py --shape H W)')
                scale, keep_ratio = fixed[::-1], False
        self.crf = self._build_crf(cfg, crf)
        self.pipeline = Compose(inference_pipeline(cfg, scale, keep_ratio))

    @staticmethod
    def _load_model(cfg: Config, checkpoint: str,
                    device: str) -> Tuple[torch.nn.Module, dict]:
        """The config's model in eval mode with the checkpoint's weights,
        and the checkpoint's ``dataset_meta`` (else the config data set's).
        """
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.train_cfg = None
        model = MODELS.build(model_cfg)
        try:
            ckpt = load_checkpoint(
                model, checkpoint, map_location='cpu', strict=True)
        except RuntimeError as e:
            reason = str(e).strip().splitlines()[0]
            raise ConfigError(f'checkpoint {checkpoint} does not fit the '
                              f'config\'s model: {reason}') from None
        meta = (ckpt.get('meta') or {}).get('dataset_meta')
        if device == 'cpu':
            model = revert_sync_batchnorm(model)
        model.cfg = cfg
        return model.to(device).eval(), meta or dataset_meta_of(cfg)

    def _load_onnx(self, path: str, device: str):
        """An ONNX Runtime session and its fixed (H, W) input size, if any.
        """
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError('the onnxruntime backend needs onnxruntime: '
                              '`pip install onnxruntime`') from None
        providers = ['CPUExecutionProvider']
        if (device.startswith('cuda')
                and 'CUDAExecutionProvider' in ort.get_available_providers()):
            providers.insert(0, 'CUDAExecutionProvider')
        session = ort.InferenceSession(path, providers=providers)
        node = session.get_inputs()[0]
        self.input_name = node.name
        size = tuple(node.shape[2:])
        fixed = all(isinstance(s, int) and s > 0 for s in size)
        return session, size if fixed else None

    @staticmethod
    def _build_crf(cfg: Config, crf) -> Optional[DenseCRF]:
        config_crf = (cfg.model.get('test_cfg') or {}).get('crf')
        if crf is None:
            crf = config_crf
        elif crf is True and config_crf not in (None, False):
            crf = config_crf
        if crf is None or crf is False:
            return None
        return DenseCRF.from_cfg(crf)

    @property
    def palette(self) -> np.ndarray:
        """RGB colour of each class, shape (num_classes, 3), uint8."""
        return get_palette(self.dataset_meta, self.num_classes)

    def __call__(self, img: Union[str, np.ndarray]) -> SegDataSample:
        """Segment one image.

        Args:
            img (str | np.ndarray): An image file, or a BGR (grey, BGRA)
                image as OpenCV reads it.

        Returns:
            :obj:`SegDataSample`: ``seg_logits`` (C, H, W) and
            ``pred_sem_seg`` (1, H, W) at the image's size, as
            ``model.predict`` gives them, and the pipeline's meta data.
        """
        if isinstance(img, str):
            path, img = img, mmcv.imread(img)
            if img is None:
                raise DataError(f'cannot read image {path}: the file is '
                                'corrupt or not an image')
        if img.ndim == 2:
            img = mmcv.gray2bgr(img)
        img = img[..., :3]  # BGRA: drop alpha, as the image loader does
        data = self.pipeline(dict(img=img))
        batch = self.preprocessor(
            dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
            False)
        inputs, sample = batch['inputs'], batch['data_samples'][0]
        with torch.no_grad():
            logits = self.forward(inputs, [sample.metainfo])[0]
        return self.postprocess(logits, sample, img)

    def forward(self, inputs: Tensor, metas: Sequence[dict]) -> Tensor:
        """Logits at the size of the network input ``inputs``."""
        if self.model is not None:
            return self.model.inference(inputs, list(metas))
        logits = self.session.run(None,
                                  {self.input_name: inputs.cpu().numpy()})[0]
        return F.interpolate(
            torch.from_numpy(logits),
            size=inputs.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def postprocess(self, logits: Tensor, sample: SegDataSample,
                    img: np.ndarray) -> SegDataSample:
        """Unpad, resize to the image, CRF and argmax, as
        ``EncoderDecoder.postprocess_result`` and ``CRFEncoderDecoder``."""
        meta = sample.metainfo
        left, right, top, bottom = meta.get('img_padding_size',
                                            meta.get('padding_size', [0] * 4))
        h, w = logits.shape[-2:]
        logits = logits[:, top:h - bottom, left:w - right]
        logits = F.interpolate(
            logits[None],
            size=tuple(meta['ori_shape'][:2]),
            mode='bilinear',
            align_corners=self.align_corners)[0]
        if self.crf is not None:
            logits = self.crf.refine_logits(logits, img)
        if logits.shape[0] > 1:
            pred = logits.argmax(dim=0, keepdim=True)
        else:
            logits = logits.sigmoid()
            pred = (logits > self.threshold).to(logits)
        result = SegDataSample(metainfo=meta)
        result.seg_logits = PixelData(data=logits)
        result.pred_sem_seg = PixelData(data=pred)
        return result


def inference_pipeline(cfg: Config,
                       scale: Optional[Sequence[int]] = None,
                       keep_ratio: Optional[bool] = None) -> list:
    """The config's test pipeline for an image given in memory.

    As in :func:`mmseg.apis.inference_model`: the image loader becomes
    ``LoadImageFromNDArray`` and annotation loaders are dropped (any type
    ending in ``LoadImageFromFile`` / ``LoadAnnotations``). ``scale`` and
    ``keep_ratio`` replace those of its ``Resize`` steps (one is added
    after the loader if there is none).
    """
    steps = copy.deepcopy(
        cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline)
    out, loader, resized = [], False, False
    for step in steps:
        kind = step['type']
        kind = kind if isinstance(kind, str) else kind.__name__
        if kind.endswith('LoadAnnotations'):
            continue
        if kind.endswith('LoadImageFromFile') and not loader:
            step['type'], loader = 'LoadImageFromNDArray', True
        elif kind == 'Resize' and scale is not None:
            step.pop('scale_factor', None)
            step['scale'], resized = tuple(scale), True
            if keep_ratio is not None:
                step['keep_ratio'] = keep_ratio
        out.append(step)
    if not loader:
        out.insert(0, dict(type='LoadImageFromNDArray'))
    if scale is not None and not resized:
        out.insert(
            1,
            dict(
                type='Resize', scale=tuple(scale),
                keep_ratio=bool(keep_ratio)))
    return out


def dataset_meta_of(cfg: Config) -> dict:
    """``classes`` and ``palette`` of the config's test data set."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    meta = {}
    try:
        meta.update(DATASETS.get(dataset['type']).METAINFO)
    except (KeyError, AttributeError, TypeError):
        pass
    meta.update(dataset.get('metainfo') or {})
    return meta


def get_palette(dataset_meta: Optional[Dict],
                num_classes: int,
                seed: int = 0) -> np.ndarray:
    """RGB colours of ``num_classes`` classes: the data set's palette,
    extended with fixed random colours where it is too short.

    Returns:
        np.ndarray: uint8 array of shape (num_classes, 3).
    """
    palette = list((dataset_meta or {}).get('palette') or [])[:num_classes]
    if len(palette) < num_classes:
        rng = np.random.default_rng(seed)
        extra = rng.integers(0, 256, (num_classes - len(palette), 3))
        palette += extra.tolist()
    return np.asarray(palette, dtype=np.uint8).reshape(num_classes, 3)


def draw_overlay(img: np.ndarray,
                 labels: np.ndarray,
                 palette: np.ndarray,
                 opacity: float = 0.5) -> np.ndarray:
    """Blend class colours over a BGR image, as mmseg's visualizer does.

    Args:
        img (np.ndarray): BGR image, (H, W, 3) uint8.
        labels (np.ndarray): Class ids, (H, W).
        palette (np.ndarray): RGB colour per class, (K, 3).
        opacity (float): Weight of the colours, in [0, 1]. Default: 0.5.

    Returns:
        np.ndarray: The BGR overlay, (H, W, 3) uint8 and contiguous.
    """
    if not 0 <= opacity <= 1:
        raise ValueError(f'opacity must be in [0, 1], got {opacity}')
    colors = np.asarray(palette, np.uint8)[:, ::-1][labels]
    out = img.astype(np.float32) * (1 - opacity) + colors * opacity
    return np.ascontiguousarray(out.astype(np.uint8))


def save_label_png(labels: np.ndarray, palette: np.ndarray, path: str) -> None:
    """Write class ids as a palette PNG: the pixel values are the ids and
    viewers show the class colours."""
    if labels.max(initial=0) > 255:
        raise ValueError(f'{path}: a PNG label map holds ids up to 255, got '
                         f'{labels.max()}')
    mkdir_or_exist(osp.dirname(osp.abspath(path)))
    img = Image.fromarray(labels.astype(np.uint8), mode='P')
    img.putpalette(np.asarray(palette, np.uint8).flatten().tolist())
    img.save(path)


def display_available() -> bool:
    """Whether a window can be shown: on Linux, ``DISPLAY`` or
    ``WAYLAND_DISPLAY`` must be set (OpenCV would fail or wait otherwise).
    Callers still catch ``cv2.error`` from headless OpenCV builds."""
    if not sys.platform.startswith('linux'):
        return True
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
