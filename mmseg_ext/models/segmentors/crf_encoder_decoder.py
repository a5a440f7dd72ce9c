from typing import Optional, Sequence

import mmcv
import numpy as np
import torch.nn.functional as F
from mmengine import fileio
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from ..utils import DenseCRF


@MODELS.register_module()
class CRFEncoderDecoder(EncoderDecoder):
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

    The settings are read at every :meth:`predict`, so they can be given in
    the config, on the command line
    (``tools/test.py CFG CKPT --cfg-options model.test_cfg.crf.iterations=10``
    turns the CRF on with defaults for the other options) or changed on a
    built model. Any ``EncoderDecoder`` config can use it with
    ``--cfg-options model.type=CRFEncoderDecoder``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._build_crf()  # fail early on bad settings

    def _build_crf(self) -> Optional[DenseCRF]:
        cfg = (self.test_cfg or {}).get('crf')
        if cfg is None or cfg is False:
            return None
        if self.out_channels < 2:
            raise ValueError('`test_cfg.crf` needs a softmax model '
                             '(out_channels >= 2), got out_channels='
                             f'{self.out_channels}')
        return DenseCRF.from_cfg(cfg)

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
