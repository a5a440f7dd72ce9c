from contextlib import ExitStack
from functools import partial
from typing import List, Optional, Sequence

import mmcv
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import fileio
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...engine import WeightsFitMixin
from ..utils import (DenseCRF, FrozenCompiled, conv_bn_folded,
                     find_conv_bn_pairs, native_unpool, parse_fast_cfg,
                     pays_channels_last)


@MODELS.register_module()
class CRFEncoderDecoder(WeightsFitMixin, EncoderDecoder):
    """Encoder-decoder with optional fully connected CRF at test time.

    DeepLab's post-processing (Chen et al., ICLR 2015) for any encoder-
    decoder: with ``test_cfg.crf`` unset or ``None`` the model is exactly
    :class:`mmseg.models.segmentors.EncoderDecoder` (same arguments, same
    checkpoints); with ``test_cfg.crf=dict(...)`` (the arguments of
    :class:`~mmseg_ext.models.utils.DenseCRF`, or ``True`` for its defaults)
    :meth:`predict` refines each image's prediction at its original size
    with a dense CRF. Training is unchanged.

    The CRF's appearance kernel needs the image: it is read from the
    sample's ``img_path`` and resized to ``ori_shape`` if needed, else (no
    path, e.g. in-memory inputs) the network input is de-normalised with the
    data preprocessor's mean and std, unpadded, unflipped and resized to
    ``ori_shape``. ``seg_logits`` then holds the CRF's log-marginals and
    ``pred_sem_seg`` their argmax.

    ``test_cfg.logit_adjust=tau`` (a float, ``True`` for 1) subtracts
    ``tau * log(class_weight)`` from the logits before anything else looks
    at them, ``class_weight`` being the decode head's loss weights. A loss
    weighted per class trains the model to predict ``w_c * p_c`` (up to a
    normaliser) instead of the class probabilities ``p_c``: its argmax
    favours the heavily weighted classes, which paints rare classes over
    common ones when the model is not yet confident. ``tau=1`` undoes that
    shift and keeps what the weights taught the features (post-hoc logit
    adjustment, Menon et al., ICLR 2021); ``0`` or unset changes nothing.

    The settings are read at every :meth:`predict`, so they can be given in
    the config, on the command line
    (``tools/test.py CFG CKPT --cfg-options model.test_cfg.crf.iterations=10``
    turns the CRF on with defaults for the other options) or changed on a
    built model. Any ``EncoderDecoder`` config can use it with
    ``--cfg-options model.type=CRFEncoderDecoder``.

    ``test_cfg.fast=True`` (``--fast`` of ``tools/test.py`` and the demos)
    makes :meth:`inference`, and so ``predict``, :func:`mmseg.apis.
    inference_model`, ``MMSegInferencer``, the test loop and TTA, faster
    on a model in eval mode, without changing the model (nothing is
    copied, folded or converted in place: training, ``state_dict`` and
    checkpoints stay the plain model's). A dict picks the parts:

    - ``channels_last`` (on): the network runs on NHWC tensors, which
      oneDNN's convolutions and max-pooling prefer on CPUs; the logits come
      back contiguous.
    - ``native_unpool`` (on): max-unpooling (SegNet, DeconvNet) by ATen's
      kernel instead of the ``scatter`` that ONNX export needs; same values.
    - ``fold_bn`` (off: it did not pay on a 2-core CPU): each BatchNorm in
      eval mode is folded into the conv before it for the call, with
      weights made per call where they are smaller than the conv's output
      and dropped after it. The pairs are found by watching the first such
      call, which runs plain.
    - ``compile`` (off): the network (``_forward``: backbone and decode
      head, up to the logits at the head's output size) is compiled by
      inductor with the weights frozen into it (:class:`~mmseg_ext.models.
      utils.FrozenCompiled`): BatchNorm folded (after DeconvNet's
      transposed convs by this package, inductor misfolds those), weights
      laid out for oneDNN once, element-wise work fused.
      Each new input shape compiles first (tens of seconds on a CPU,
      logged), and a change of the weights compiles again, so it is for
      many images of one size: a test set, a video. It keeps a second,
      frozen copy of the weights. Excludes ``fold_bn``.

    The logits match the plain model's to float rounding (1e-4) and so the
    labels, but for ties at that level; in SegNet and DeconvNet such a tie
    in a max-pooling window can pick the other switch and move that value
    in the decoder, which changes a few labels around it (the plain model
    does the same on another CPU). A model in train mode and the
    ``'tensor'`` mode that ONNX export traces always run plain; the CRF and
    ``logit_adjust`` apply to the fast logits as to the plain ones.

    Weights that do not fit are refused also outside the runner
    (:class:`~mmseg_ext.engine.WeightsFitMixin`): ``init_model`` and
    ``MMSegInferencer`` on a checkpoint with, e.g., a head for another
    number of classes raise a one-line
    :class:`~mmseg_ext.engine.CheckpointError` naming the weights and both
    shapes, instead of keeping that head random.

    Args:
        load_partial (bool): Load only the weights that fit, with one
            warning naming the others. Defaults to False.
        *args, **kwargs: The arguments of ``EncoderDecoder``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._build_crf()  # fail early on bad settings
        if (self.test_cfg or {}).get('logit_adjust'):
            self._class_weight()
        parse_fast_cfg((self.test_cfg or {}).get('fast'))
        self._conv_bn_pairs = None  # found at the first fast inference
        self._compiled = FrozenCompiled(EncoderDecoder._forward)

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Logits of :meth:`EncoderDecoder.inference`, by the fast path
        when ``test_cfg.fast`` is set and the model is in eval mode."""
        fast = parse_fast_cfg((self.test_cfg or {}).get('fast'))
        run = partial(super().inference, batch_img_metas=batch_img_metas)
        if self.training or not any(fast.values()):
            return run(inputs)
        channels_last = fast['channels_last']
        if channels_last is None:
            channels_last = pays_channels_last(self)
        if channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with ExitStack() as stack:
            if fast['native_unpool']:
                stack.enter_context(native_unpool())
            if fast['fold_bn'] and self._conv_bn_pairs is None:
                seg_logits, self._conv_bn_pairs = find_conv_bn_pairs(
                    self, partial(run, inputs))
                return seg_logits.contiguous()
            if fast['fold_bn']:
                stack.enter_context(conv_bn_folded(self, self._conv_bn_pairs))
            seg_logits = run(inputs)
        return seg_logits.contiguous()

    def _build_crf(self) -> Optional[DenseCRF]:
        cfg = (self.test_cfg or {}).get('crf')
        if cfg is None or cfg is False:
            return None
        if self.out_channels < 2:
            raise ValueError('`test_cfg.crf` needs a softmax model '
                             '(out_channels >= 2), got out_channels='
                             f'{self.out_channels}')
        return DenseCRF.from_cfg(cfg)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Logits of :class:`EncoderDecoder` (of the compiled network with
        ``test_cfg.fast.compile`` in eval mode), adjusted for class
        weights."""
        fast = parse_fast_cfg((self.test_cfg or {}).get('fast'))
        if fast['compile'] and not self.training:
            seg_logits = self.decode_head.predict_by_feat(
                self._compiled(self, inputs), batch_img_metas)
        else:
            seg_logits = super().encode_decode(inputs, batch_img_metas)
        tau = float((self.test_cfg or {}).get('logit_adjust') or 0)
        if not tau:
            return seg_logits
        weight = self._class_weight().to(seg_logits)
        return seg_logits - tau * weight.log().view(1, -1, 1, 1)

    def _class_weight(self) -> Tensor:
        """The class weights of the decode head's losses (all the same)."""
        losses = self.decode_head.loss_decode
        losses = losses if isinstance(losses, nn.ModuleList) else [losses]
        weights = {
            tuple(loss.class_weight)
            for loss in losses
            if getattr(loss, 'class_weight', None) is not None
        }
        if len(weights) != 1:
            raise ValueError(
                '`test_cfg.logit_adjust` undoes the class weights of the '
                'decode head\'s loss, but its losses have ' +
                ('none' if not weights else 'different ones'))
        weight = torch.tensor(weights.pop(), dtype=torch.float32)
        if weight.numel() != self.out_channels or (weight <= 0).any():
            raise ValueError('`test_cfg.logit_adjust` needs one positive '
                             f'class weight per class ({self.out_channels})'
                             f', got {weight.tolist()}')
        return weight

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict, then refine each result with the CRF when it is set."""
        results = super().predict(inputs, data_samples)
        crf = self._build_crf()
        if crf is None:
            return results
        return self.refine_with_crf(crf, inputs, results)

    def refine_with_crf(self, crf: DenseCRF, inputs: Tensor,
                        results: SampleList) -> SampleList:
        """Replace the predictions of ``results`` by the CRF's, in place.

        Args:
            crf (DenseCRF): The CRF to run.
            inputs (Tensor): The network inputs, (N, 3, H, W).
            results (list[:obj:`SegDataSample`]): Outputs of
                :meth:`EncoderDecoder.predict` for ``inputs``.

        Returns:
            list[:obj:`SegDataSample`]: ``results``.
        """
        for i, result in enumerate(results):
            logits = result.seg_logits.data
            image = self.crf_image(inputs[i], result, logits.shape[-2:])
            log_marginals = crf.refine_logits(logits, image)
            result.set_data({
                'seg_logits':
                PixelData(data=log_marginals),
                'pred_sem_seg':
                PixelData(data=log_marginals.argmax(dim=0, keepdim=True))
            })
        return results

    def crf_image(self, inputs: Tensor, sample: SegDataSample,
                  size: Sequence[int]) -> np.ndarray:
        """The image a prediction belongs to, for the CRF.

        Args:
            inputs (Tensor): The sample's network input, (3, H, W).
            sample (:obj:`SegDataSample`): Its data sample.
            size (Sequence[int]): (height, width) of its prediction.

        Returns:
            np.ndarray: uint8 image of shape (height, width, 3).
        """
        h, w = int(size[0]), int(size[1])
        img_path = sample.metainfo.get('img_path')
        if isinstance(img_path, str):
            try:
                img = mmcv.imfrombytes(fileio.get(img_path), flag='color')
            except (OSError, ValueError):
                img = None
            if img is not None:
                if img.shape[:2] != (h, w):
                    img = mmcv.imresize(img, (w, h), interpolation='bilinear')
                return np.ascontiguousarray(img)
        return self._denormalize(inputs, sample.metainfo, (h, w))

    def _denormalize(self, inputs: Tensor, meta: dict, size) -> np.ndarray:
        """Undo normalisation, padding and flip of one network input."""
        if inputs.shape[0] != 3:
            raise ValueError('the CRF needs a 3-channel image, the input has '
                             f'{inputs.shape[0]} channels and the sample no '
                             'readable `img_path`')
        preprocessor = self.data_preprocessor
        img = inputs.detach().float()
        if getattr(preprocessor, '_enable_normalize', False):
            img = img * preprocessor.std + preprocessor.mean
        if 'img_padding_size' in meta or 'padding_size' in meta:
            left, right, top, bottom = meta.get('img_padding_size',
                                                meta.get('padding_size'))
            img = img[:, top:img.shape[1] - bottom, left:img.shape[2] - right]
        if meta.get('flip'):
            horizontal = meta.get('flip_direction') == 'horizontal'
            img = img.flip(dims=(2, ) if horizontal else (1, ))
        if tuple(img.shape[-2:]) != tuple(size):
            img = F.interpolate(
                img[None], size=size, mode='bilinear', align_corners=False)[0]
        img = img.clamp(0, 255).round().byte().permute(1, 2, 0)
        return np.ascontiguousarray(img.cpu().numpy())
