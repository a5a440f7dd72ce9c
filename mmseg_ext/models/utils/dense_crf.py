"""Fully connected CRF post-processing (dense CRF)."""
from typing import Dict, Union

import numpy as np
import torch
from torch import Tensor


class DenseCRF:
    """Mean-field inference in a fully connected CRF over the pixels.

    Efficient Inference in Fully Connected CRFs with Gaussian Edge Potentials
    (Krähenbühl & Koltun, NeurIPS 2011), used as in DeepLab (Chen et al.,
    ICLR 2015): the unary term is the network's ``-log P``, and a Potts
    pairwise term with two Gaussian kernels couples every pair of pixels
    ``i, j`` at positions ``p`` with colours ``I``::

        w1 * exp(-|p_i - p_j|^2 / (2 theta_alpha^2)
                 - |I_i - I_j|^2 / (2 theta_beta^2))      # appearance
        + w2 * exp(-|p_i - p_j|^2 / (2 theta_gamma^2))    # smoothness

    Message passing uses the permutohedral lattice (linear in the number of
    pixels) of Krähenbühl's C++ code through ``pydensecrf2``, so a 360x480
    image with 11 classes and 10 iterations takes about a second on one CPU
    core. The defaults are DeepLab-LargeFOV's published values for PASCAL
    VOC (bi_w=4, bi_xy_std=121, bi_rgb_std=5, pos_w=3, pos_xy_std=3, 10
    iterations).

    Args:
        iterations (int): Mean-field iterations. Default: 10.
        w1 (float): Weight of the appearance (bilateral) kernel. Default: 4.
        theta_alpha (float): Its spatial standard deviation in pixels.
            Default: 121.
        theta_beta (float): Its colour standard deviation (0-255 scale).
            Default: 5.
        w2 (float): Weight of the smoothness (spatial) kernel. Default: 3.
        theta_gamma (float): Its standard deviation in pixels. Default: 3.
        eps (float): Probabilities are clipped to at least this before the
            log of the unary term. Default: 1e-8.

    Example:
        >>> import numpy as np
        >>> crf = DenseCRF(iterations=5)
        >>> probs = np.full((2, 20, 30), 0.5, np.float32)
        >>> image = np.zeros((20, 30, 3), np.uint8)
        >>> crf(probs, image).shape
        (2, 20, 30)
    """

    def __init__(self,
                 iterations: int = 10,
                 w1: float = 4.,
                 theta_alpha: float = 121.,
                 theta_beta: float = 5.,
                 w2: float = 3.,
                 theta_gamma: float = 3.,
                 eps: float = 1e-8):
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError('crf `iterations` must be a positive int, got '
                             f'{iterations!r}')
        for name, value in (('w1', w1), ('w2', w2)):
            if not value >= 0:
                raise ValueError(f'crf `{name}` must be >= 0, got {value!r}')
        positive = dict(
            theta_alpha=theta_alpha,
            theta_beta=theta_beta,
            theta_gamma=theta_gamma,
            eps=eps)
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f'crf `{name}` must be > 0, got {value!r}')
        try:
            from pydensecrf import densecrf
        except ImportError as e:
            raise ImportError('the dense CRF needs the `pydensecrf2` package: '
                              '`pip install pydensecrf2`') from e
        self._densecrf = densecrf
        self.iterations = iterations
        self.w1 = float(w1)
        self.theta_alpha = float(theta_alpha)
        self.theta_beta = float(theta_beta)
        self.w2 = float(w2)
        self.theta_gamma = float(theta_gamma)
        self.eps = float(eps)

    @classmethod
    def from_cfg(cls, cfg: Union[bool, Dict, None]) -> 'DenseCRF':
        """Build from a config entry: ``True`` for defaults, or a dict.

        Raises:
            TypeError: On a key that is not an argument, naming it.
        """
        if cfg is True:
            cfg = {}
        if not isinstance(cfg, dict):
            raise TypeError('`test_cfg.crf` must be a dict of CRF settings, '
                            f'True or None, got {cfg!r}')
        valid = ('iterations', 'w1', 'theta_alpha', 'theta_beta', 'w2',
                 'theta_gamma', 'eps')
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise TypeError(f'unknown `test_cfg.crf` option(s) {unknown}; '
                            f'valid options are {list(valid)}')
        return cls(**cfg)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={getattr(self, k)}'
                         for k in ('iterations', 'w1', 'theta_alpha',
                                   'theta_beta', 'w2', 'theta_gamma'))
        return f'{self.__class__.__name__}({args})'

    def __call__(self, probs: Union[np.ndarray, Tensor],
                 image: np.ndarray) -> np.ndarray:
        """Refine class probabilities with the image's edges.

        Args:
            probs (np.ndarray | Tensor): Class probabilities, shape
                (C, H, W), summing to one over C.
            image (np.ndarray): The image, uint8 of shape (H, W, 3), in any
                fixed channel order.

        Returns:
            np.ndarray: Float32 marginals of shape (C, H, W).
        """
        if isinstance(probs, Tensor):
            probs = probs.detach().float().cpu().numpy()
        if probs.ndim != 3 or probs.shape[0] < 2:
            raise ValueError('the CRF needs probabilities of shape (C, H, W) '
                             f'with C >= 2, got {probs.shape}')
        num_classes, h, w = probs.shape
        if image.shape != (h, w, 3):
            raise ValueError(f'image of shape {image.shape} does not match '
                             f'probabilities of shape {probs.shape}')
        unary = -np.log(np.clip(probs, self.eps, None)).reshape(
            num_classes, -1)
        crf = self._densecrf.DenseCRF2D(w, h, num_classes)
        crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
        if self.w2 > 0:
            crf.addPairwiseGaussian(sxy=self.theta_gamma, compat=self.w2)
        if self.w1 > 0:
            crf.addPairwiseBilateral(
                sxy=self.theta_alpha,
                srgb=self.theta_beta,
                rgbim=np.ascontiguousarray(image, dtype=np.uint8),
                compat=self.w1)
        marginals = np.asarray(crf.inference(self.iterations), np.float32)
        return marginals.reshape(num_classes, h, w)

    def refine_logits(self, logits: Tensor, image: np.ndarray) -> Tensor:
        """Softmax, CRF, then the log of the marginals.

        Args:
            logits (Tensor): Class scores of shape (C, H, W).
            image (np.ndarray): uint8 image of shape (H, W, 3).

        Returns:
            Tensor: Log-marginals of shape (C, H, W), on ``logits``' device.
        """
        probs = logits.detach().float().softmax(dim=0)
        marginals = self(probs, image)
        return torch.from_numpy(marginals).clamp_min_(self.eps).log_().to(
            device=logits.device, dtype=logits.dtype)
