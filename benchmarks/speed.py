"""Speed of the package's models against the same layers in plain PyTorch.

For each family (FCN-8s, SegNet, DeconvNet, DilatedNet, DeepLab-v1
LargeFOV, U-Net; full-width VGG16 configs, CamVid's 11 classes) this:

1. builds our model from its config (``MODELS`` after ``import
   mmseg_ext``, SyncBN reverted to BN as the runner does on one process)
   and the plain reference of ``benchmarks/plain_models.py``, draws random
   weights (BN statistics included) for ours and copies them into the
   reference layer by layer, in the order the layers run, checking type,
   shape and hyperparameters of each pair;
2. refuses to time anything unless both give the same logits in eval mode
   (``max |ours - plain| <= 1e-5 * max(1, max |plain|)``);
3. times, alternating between the contenders in every round (the first
   of each round rotates), several rounds, min and median:

   - inference, batch 1, from the normalised input tensor to the labels at
     input size, under ``torch.no_grad()``: ours is ``model.predict(inputs,
     data_samples)`` (the segmentor's whole-image inference, its resize to
     the input size, ``postprocess_result``'s resize to ``ori_shape`` and
     argmax: what ``inference_model`` runs after the data preprocessor);
     plain is ``forward``, bilinear upsampling when the logits are smaller,
     argmax (:func:`plain_models.segment`); ONNX Runtime (when installed)
     is ``session.run`` on the model exported by
     ``tools/deployment/pytorch2onnx.py`` then the same upsampling and
     argmax; ``--fast`` adds ours with ``model.test_cfg.fast=True`` and
     ``--compile`` ours with ``model.test_cfg.fast=dict(compile=True)``
     (its first call, which compiles, is timed apart: ``compile_s``);
   - a training step, batch 2, from the uint8 BGR images and labels: ours
     is ``model.train_step(data, optim_wrapper)`` (the runner's step: data
     preprocessor, loss, backward, SGD step, with the config's
     ``optim_wrapper``); plain is :func:`plain_models.train_step`
     (normalisation, forward, upsampling, the same cross-entropy, backward,
     ``torch.optim.SGD`` step with the same settings);

4. measures, each in its own subprocess, the peak resident memory of one
   call (after one warm-up call, ``malloc_trim`` and a reset of the
   kernel's high-water mark): the increase over the resident memory just
   before the call (``delta``) and the process's peak (``peak``, which
   includes the weights and the imported libraries, the same for both);
5. counts FLOPs with mmengine's counter as ``get_flops.py`` does and
   reports GFLOP = 2 x multiply-adds of the forward at the input size, the
   achieved GFLOP/s (at the minimum inference time) and its percentage of
   the machine's fp32 GEMM rate (``torch.mm`` of two 2048x2048 matrices,
   best of each round, measured in the same rounds).

Writes a markdown table and JSON (``--out``, default
``benchmarks/results/speed``); the ratios are the result, absolute times
depend on the machine::

    python benchmarks/speed.py [--families segnet unet] [--rounds 5]
        [--size 512 512] [--threads 2] [--fast] [--compile] [--out PREFIX]
"""
import argparse
import contextlib
import copy
import ctypes
import functools
import gc
import importlib.util
import inspect
import json
import os
import os.path as osp
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

BENCH = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(BENCH)
VGG16_WIDTHS = (64, 128, 256, 512, 512)
#: family: (config under configs/, class of plain_models.py)
FAMILIES = {
    'fcn8s': ('fcn/fcn8s_vgg16_1xb8-20k_camvid-360x480.py', 'FCN8s'),
    'segnet': ('segnet/segnet_vgg16-bn_1xb8-20k_camvid-360x480.py', 'SegNet'),
    'deconvnet':
    ('deconvnet/deconvnet_vgg16-bn_1xb8-20k_camvid-360x480.py', 'DeconvNet'),
    'dilatednet':
    ('dilatednet/dilatednet_vgg16_1xb8-20k_camvid-360x480.py', 'DilatedNet'),
    'deeplabv1': ('deeplabv1/deeplabv1-largefov_vgg16_1xb8-20k_camvid-'
                  '360x480.py', 'LargeFOV'),
    'unet': ('unet/unet_vgg16-bn_1xb8-20k_camvid-360x480.py', 'UNet'),
}
#: families whose VGG has fc6/fc7
WITH_FC = ('fcn8s', 'deconvnet', 'dilatednet', 'deeplabv1')
RTOL = 1e-5  # logits, relative to their largest magnitude
FAST_RTOL = 1e-4  # the fast path's logits (issue 11)
#: the fast variants of ours: variant name, ``test_cfg.fast``, the flag of
#: this script that adds it, its label in the tables and ``fidelity_*``
FAST_VARIANTS = (('ours_fast', True, 'fast', 'fast'),
                 ('ours_compiled', dict(compile=True), 'compile', 'compiled'))
GEMM_N = 2048
INFER_BATCH, TRAIN_BATCH = 1, 2
LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.modules.batchnorm._BatchNorm)


def _load(name: str):
    """A module of this folder (``benchmarks`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        f'_bench_{name}', osp.join(BENCH, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plain_models = _load('plain_models')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--families',
        nargs='+',
        choices=sorted(FAMILIES),
        default=list(FAMILIES),
        help='models to benchmark (default: all)')
    parser.add_argument(
        '--rounds', type=int, default=5, help='timed rounds (default: 5)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=[360, 480],
        metavar=('H', 'W'),
        help='input height and width (default: 360 480)')
    parser.add_argument(
        '--out',
        default=osp.join(REPO, 'benchmarks', 'results', 'speed'),
        help='writes OUT.md and OUT.json (default: '
        'benchmarks/results/speed)')
    parser.add_argument(
        '--fast',
        action='store_true',
        help='also time ours with model.test_cfg.fast=True (issue 11)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='also time ours with model.test_cfg.fast=dict(compile=True) '
        '(issue 11; its compile time is reported apart)')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch (and ONNX Runtime) threads; default: torch\'s')
    parser.add_argument(
        '--widths',
        type=int,
        nargs=5,
        metavar='C',
        help='narrow VGG stages, for quick checks (default: VGG16\'s)')
    parser.add_argument(
        '--fc-channels',
        type=int,
        help='narrow fc6/fc7, with --widths (default: the config\'s)')
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='skip the peak-memory subprocesses')
    parser.add_argument(
        '--no-onnx', action='store_true', help='skip ONNX Runtime')
    parser.add_argument(
        '--no-train',
        action='store_true',
        help='skip the training step (inference only)')
    parser.add_argument('--probe', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f'--rounds must be >= 1, got {args.rounds}')
    if min(args.size) < 32:
        parser.error(f'--size must be at least 32x32, got {args.size}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


# --------------------------------------------------------------- models
def load_cfg(family: str,
             size: Sequence[int],
             widths: Optional[Sequence[int]] = None,
             fc_channels: Optional[int] = None):
    """The family's config for inputs of ``size``, optionally narrowed."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', FAMILIES[family][0]))
    cfg.model.data_preprocessor.size = tuple(size)
    if widths is not None:
        narrow(cfg, family, widths, fc_channels)
    return cfg


def narrow(cfg,
           family: str,
           widths: Sequence[int],
           fc_channels: Optional[int] = None) -> None:
    """Give the model VGG stage widths ``widths`` (and fc6/fc7 width
    ``fc_channels``), updating the head's input widths to match."""
    backbone, head = cfg.model.backbone, cfg.model.decode_head
    widths = list(widths)
    backbone.stage_channels = widths
    fc = backbone.get('fc_channels', 4096)
    if family in WITH_FC and fc_channels is not None:
        fc = backbone.fc_channels = fc_channels
    if family == 'fcn8s':
        head.in_channels = [widths[2], widths[3], fc]
    elif family in ('segnet', 'unet'):
        head.in_channels = widths
    elif family == 'deconvnet':
        head.in_channels = widths + [fc]
    elif family == 'dilatednet':
        head.in_channels = fc
    elif family == 'deeplabv1':
        head.in_channels = head.channels = fc
    if family in ('segnet', 'deconvnet'):
        head.channels = widths[0]


@contextlib.contextmanager
def quiet():
    """Only errors from MMEngine's logger (weight init, FLOP counter)."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_ours(cfg) -> nn.Module:
    """Our segmentor as a single-process runner builds it, eval mode."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_ext  # noqa: F401
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    with quiet():
        model.init_weights()
    return revert_sync_batchnorm(model).eval()


def build_plain(family: str, cfg) -> nn.Module:
    """The plain reference with the widths of ``cfg``'s model."""
    backbone, head = cfg.model.backbone, cfg.model.decode_head
    kwargs = dict(
        num_classes=head.num_classes,
        widths=tuple(backbone.get('stage_channels', VGG16_WIDTHS)))
    if family in WITH_FC:
        kwargs['fc_channels'] = backbone.get('fc_channels', 4096)
    if family in ('fcn8s', 'dilatednet', 'deeplabv1'):
        kwargs['dropout'] = backbone.get('fc_dropout', 0.5)
    if family == 'segnet':
        kwargs.update(decoder_convs=head.num_convs, channels=head.channels)
    elif family == 'deconvnet':
        kwargs.update(
            decoder_convs=head.num_convs[:-1], channels=head.channels)
    elif family == 'unet':
        kwargs['num_convs'] = head.num_convs
    return getattr(plain_models, FAMILIES[family][1])(**kwargs).eval()


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights for every conv and BN, BN statistics included.

    He-scaled convs (by the inputs each output sums over) keep activations
    of the order of one through deep stacks; random biases, BN affine
    parameters and statistics make every layer matter to the output (the
    package's own initialisation zeroes FCN's skip scores and makes the
    context module an identity, which would hide a wrong layer).
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(t, low, high):
        t.copy_(torch.rand(t.shape, generator=gen) * (high - low) + low)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                w = m.weight
                if isinstance(m, nn.ConvTranspose2d):
                    stride = m.stride[0] * m.stride[1]
                    fan_in = w.shape[0] * w[0, 0].numel() / stride
                else:
                    fan_in = w[0].numel()
                w.copy_(
                    torch.randn(w.shape, generator=gen) * (2 / fan_in)**0.5)
                if m.bias is not None:
                    uniform(m.bias, -0.1, 0.1)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                uniform(m.weight, 0.5, 1.5)
                uniform(m.bias, -0.1, 0.1)
                uniform(m.running_mean, -0.1, 0.1)
                uniform(m.running_var, 0.5, 1.5)
    return model


def layers_in_call_order(model: nn.Module,
                         run: Callable[[], object]) -> List[nn.Module]:
    """Convs, deconvs and BNs of ``model`` in the order ``run()`` calls
    them (each once); raises if a parameter lies outside them."""
    order, seen = [], set()

    def record(module, _):
        if id(module) not in seen:
            seen.add(id(module))
            order.append(module)

    hooks = [
        m.register_forward_pre_hook(record) for m in model.modules()
        if isinstance(m, LAYERS)
    ]
    try:
        with torch.no_grad():
            run()
    finally:
        for hook in hooks:
            hook.remove()
    covered = {id(p) for m in order for p in m.parameters()}
    missed = [
        name for name, p in model.named_parameters() if id(p) not in covered
    ]
    if missed:
        raise ValueError(f'{type(model).__name__}: parameters outside the '
                         f'layers run by forward: {missed[:5]}')
    return order


def _signature(m: nn.Module) -> tuple:
    """What must agree between a layer and its counterpart."""
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return ('bn', m.num_features, m.eps, m.affine)
    kind = 'deconv' if isinstance(m, nn.ConvTranspose2d) else 'conv'
    extra = tuple(m.output_padding) if kind == 'deconv' else ()
    return (kind, m.in_channels, m.out_channels, tuple(
        m.kernel_size), tuple(m.stride), tuple(m.padding), tuple(
            m.dilation), m.groups, m.bias is not None, m.padding_mode) + extra


def copy_weights(ours: nn.Module, plain: nn.Module,
                 inputs: torch.Tensor) -> int:
    """Copy every layer's weights (and BN statistics) from ``ours`` into
    ``plain``, pairing the layers in the order they run on ``inputs``.

    Returns:
        int: The number of layers copied.

    Raises:
        ValueError: If the layers differ in number, kind, shape or settings
            (padding, dilation, stride, bias, ...).
    """
    src = layers_in_call_order(ours, lambda: ours(inputs, mode='tensor'))
    dst = layers_in_call_order(plain, lambda: plain(inputs))
    if len(src) != len(dst):
        raise ValueError(f'ours runs {len(src)} conv/BN layers, the plain '
                         f'reference {len(dst)}')
    for i, (a, b) in enumerate(zip(src, dst)):
        if _signature(a) != _signature(b):
            raise ValueError(f'layer {i} differs: ours {a}, plain {b}')
        state = a.state_dict()
        if {
                k: v.shape
                for k, v in state.items()
        } != {
                k: v.shape
                for k, v in b.state_dict().items()
        }:
            raise ValueError(f'layer {i} has other tensors: ours '
                             f'{sorted(state)}, plain '
                             f'{sorted(b.state_dict())}')
        b.load_state_dict(state)
    return len(src)


def compare_logits(ours: nn.Module, plain: nn.Module,
                   inputs: torch.Tensor) -> dict:
    """Max abs difference of the eval-mode logits, and the tolerance."""
    with torch.no_grad():
        a = ours(inputs, mode='tensor')
        b = plain(inputs)
    if a.shape != b.shape:
        return dict(
            ok=False,
            reason=f'logits of shape {tuple(a.shape)} vs {tuple(b.shape)}')
    scale = max(1.0, float(b.abs().max()))
    diff = float((a - b).abs().max())
    return dict(
        ok=bool(diff <= RTOL * scale),
        max_abs_diff=diff,
        max_abs_logit=float(b.abs().max()),
        tolerance=RTOL * scale)


def fast_supported(cfg, compile: bool = False) -> bool:
    """Whether the code of ``cfg``'s segmentor reads ``test_cfg.fast``
    (issue 11's fast inference path) and, with ``compile``, knows its
    ``compile`` option."""
    if compile:
        try:
            from mmseg_ext.models.utils import FAST_OPTIONS
        except ImportError:
            return False
        if 'compile' not in FAST_OPTIONS:
            return False
    from mmseg.registry import MODELS

    import mmseg_ext  # noqa: F401
    for cls in MODELS.get(cfg.model.type).__mro__:
        if cls.__module__.split('.')[0] == 'mmseg_ext':
            source = inspect.getsource(sys.modules[cls.__module__])
            if re.search(r'[\'"]fast[\'"]', source):
                return True
    return False


# ----------------------------------------------------------------- data
def make_batch(size: Sequence[int], batch: int, num_classes: int,
               seed: int) -> dict:
    """Random uint8 BGR images and labels (a few ignored) as a loader
    gives them: ``dict(inputs=[...], data_samples=[...])``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, h, w), generator=gen)
        label[torch.rand(label.shape, generator=gen) < 0.05] = 255
        sample = SegDataSample(
            metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class Contenders:
    """Our model, the plain reference and their inputs, for one family."""

    def __init__(self, family: str, cfg, size: Sequence[int]):
        self.family, self.cfg, self.size = family, cfg, tuple(size)
        self.ours = build_ours(cfg)
        self.plain = build_plain(family, cfg)
        head = cfg.model.decode_head
        self.num_classes = head.num_classes
        batch = make_batch(size, INFER_BATCH, self.num_classes, 0)
        with torch.no_grad():
            data = self.ours.data_preprocessor(batch, False)
        self.inputs, self.samples = data['inputs'], data['data_samples']
        self.train_data = make_batch(size, TRAIN_BATCH, self.num_classes, 1)
        pre = self.ours.data_preprocessor
        self.mean, self.std = pre.mean.clone(), pre.std.clone()
        weight = head.loss_decode.get('class_weight')
        self.class_weight = None if weight is None else torch.tensor(
            weight, dtype=torch.float32)
        self.images = torch.stack(self.train_data['inputs'])
        self.labels = torch.cat(
            [s.gt_sem_seg.data for s in self.train_data['data_samples']])
        self.fast = {}  # variant name: our model with that test_cfg.fast
        self.session = None
        self.optim_wrapper = self.optimizer = None

    def setup_training(self) -> None:
        """The config's optimizer for ours and the same SGD for plain
        (for those of the two that are there)."""
        from mmengine.optim import build_optim_wrapper
        opt = self.cfg.optim_wrapper.optimizer
        if opt.type != 'SGD':
            raise SystemExit(f'{FAMILIES[self.family][0]}: the plain loop '
                             f'uses SGD, the config {opt.type}')
        if self.ours is not None:
            self.optim_wrapper = build_optim_wrapper(self.ours,
                                                     self.cfg.optim_wrapper)
        if self.plain is not None:
            kwargs = {k: v for k, v in opt.items() if k != 'type'}
            self.optimizer = torch.optim.SGD(self.plain.parameters(), **kwargs)

    # the timed calls -------------------------------------------------
    def infer_ours(self, model=None):
        with torch.no_grad():
            model = self.ours if model is None else model
            return model.predict(self.inputs, self.samples)

    def infer_plain(self):
        with torch.no_grad():
            return plain_models.segment(self.plain, self.inputs)

    def infer_onnxruntime(self):
        logits = torch.from_numpy(
            self.session.run(None, {'input': self.inputs.numpy()})[0])
        if logits.shape[-2:] != self.inputs.shape[-2:]:
            logits = F.interpolate(
                logits,
                size=self.inputs.shape[-2:],
                mode='bilinear',
                align_corners=False)
        return logits.argmax(dim=1)

    def train_ours(self):
        self.ours.train()
        log_vars = self.ours.train_step(self.train_data, self.optim_wrapper)
        self.ours.eval()
        loss = log_vars['loss']
        return float(loss.detach() if torch.is_tensor(loss) else loss)

    def train_plain(self):
        self.plain.train()
        loss = plain_models.train_step(self.plain, self.optimizer, self.images,
                                       self.labels, self.mean, self.std,
                                       self.class_weight)
        self.plain.eval()
        return float(loss)


# --------------------------------------------------------- measurements
def gemm_rate(n: int = GEMM_N, repeats: int = 5) -> float:
    """Best fp32 ``torch.mm`` rate of two n x n matrices, GFLOP/s."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def count_gflop(model: nn.Module, inputs: torch.Tensor) -> float:
    """GFLOP (2 x multiply-adds, mmengine's counter) of ``model(inputs)``
    per image, as ``tools/analysis_tools/get_flops.py`` counts."""
    from mmengine.analysis import get_model_complexity_info
    with quiet(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the tracer's
        out = get_model_complexity_info(
            model, inputs=(inputs, ), show_table=False, show_arch=False)
    return 2 * out['flops'] / inputs.shape[0] / 1e9


def conv_gflop(model: nn.Module, run: Callable[[], object]) -> float:
    """GFLOP (2 x multiply-adds) of the convolutions and deconvolutions
    that ``run()`` calls in ``model``, per image, counted analytically."""
    macs = []

    def count(module, inputs, output):
        k = module.weight[0, 0].numel() * module.in_channels // module.groups
        if isinstance(module, nn.ConvTranspose2d):  # per input element
            k = k * module.out_channels // module.in_channels
            macs.append(inputs[0].numel() * k)
        else:  # per output element
            macs.append(output.numel() * k)

    hooks = [
        m.register_forward_hook(count) for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    try:
        with torch.no_grad():
            out = run()
    finally:
        for hook in hooks:
            hook.remove()
    batch = out.shape[0] if isinstance(out, torch.Tensor) else 1
    return 2 * sum(macs) / batch / 1e9


def _sig(x: float) -> float:
    """``x`` to 4 significant digits."""
    return float(f'{x:.4g}')


def summary(times: Sequence[float]) -> dict:
    ms = [t * 1e3 for t in times]
    return dict(
        min_ms=round(min(ms), 2),
        median_ms=round(statistics.median(ms), 2),
        times_ms=[round(t, 2) for t in ms])


def time_rounds(calls: Dict[str, Callable], rounds: int,
                gemm: List[float]) -> Dict[str, List[float]]:
    """Time each call once per round, alternating (the first of a round
    rotates), after one untimed warm-up call each; a GEMM measurement opens
    every round."""
    for call in calls.values():
        call()
    names = list(calls)
    times = {name: [] for name in names}
    for r in range(rounds):
        gemm.append(gemm_rate())
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return times


def _rss_mb(field: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'no {field} in /proc/self/status')


def probe(spec: dict) -> dict:
    """Peak memory of one call, in this (fresh) process; see the module
    docstring."""
    if spec['threads']:
        torch.set_num_threads(spec['threads'])
    cfg = load_cfg(spec['family'], spec['size'], spec['widths'],
                   spec['fc_channels'])
    variant = spec['variant']
    for name, fast, _, _ in FAST_VARIANTS:
        if variant == name:
            cfg.model.test_cfg.fast = fast
            variant = 'ours'
    contenders = Contenders(spec['family'], cfg, spec['size'])
    # only the measured model stays in memory
    if variant == 'plain':
        contenders.ours = None
    else:
        contenders.plain = None
    if spec['task'] == 'train':
        contenders.setup_training()
    call = getattr(contenders, f'{spec["task"]}_{variant}')
    call()  # warm-up: lazy initialisation, optimizer state
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)  # give freed heap back (glibc)
    except AttributeError:
        pass
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset VmHWM to the current RSS
    before = _rss_mb('VmRSS')
    call()
    peak = _rss_mb('VmHWM')
    return dict(delta_mb=round(peak - before, 1), peak_mb=round(peak, 1))


def measure_memory(spec: dict) -> dict:
    """Run :func:`probe` in a subprocess; an error becomes a note."""
    cmd = [sys.executable, osp.abspath(__file__), '--probe', json.dumps(spec)]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            filter(None, [REPO, os.environ.get('PYTHONPATH')])))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        err = (proc.stderr.strip().splitlines() or ['no output'])[-1]
        return dict(error=err)
    return json.loads(lines[-1])


# ----------------------------------------------------------------- ONNX
def onnx_session(contenders: Contenders, tmpdir: str, threads: int):
    """Export ours with pytorch2onnx.py's ``export`` and open it in ONNX
    Runtime; returns (session, check) or (None, reason)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, 'onnxruntime is not installed'
    spec = importlib.util.spec_from_file_location(
        '_pytorch2onnx',
        osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    path = osp.join(tmpdir, f'{contenders.family}.onnx')
    tool.export(contenders.ours, path, contenders.size)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = contenders.ours(contenders.inputs, mode='tensor')
    actual = torch.from_numpy(
        session.run(None, {'input': contenders.inputs.numpy()})[0])
    scale = max(1.0, float(expected.abs().max()))
    diff = float((actual - expected).abs().max())
    if not diff <= FAST_RTOL * scale:
        return None, (f'ONNX Runtime logits differ from ours by {diff:.3g} '
                      f'(tolerance {FAST_RTOL * scale:.3g})')
    return session, dict(max_abs_diff=diff)


# ------------------------------------------------------------ one family
def check_fast(con: Contenders, cfg, name: str, fast) -> dict:
    """Build ours with ``test_cfg.fast=fast`` and the same weights as
    ``con.ours`` as ``con.fast[name]``, and compare its first result (which
    compiles, for ``compile``: timed as ``compile_s``) with the plain
    reference; exits unless they agree."""
    fast_cfg = copy.deepcopy(cfg)
    fast_cfg.model.test_cfg.fast = fast
    con.fast[name] = build_ours(fast_cfg)
    con.fast[name].load_state_dict(con.ours.state_dict())
    with torch.no_grad():
        start = time.perf_counter()
        result = con.infer_ours(con.fast[name])[0]
        first_s = time.perf_counter() - start
        ref = con.plain(con.inputs)
    ref = F.interpolate(
        ref, size=con.size, mode='bilinear', align_corners=False)[0]
    diff = float((result.seg_logits.data - ref).abs().max())
    tol = FAST_RTOL * max(1.0, float(ref.abs().max()))
    mismatch = int((result.pred_sem_seg.data[0] != ref.argmax(0)).sum())
    # SegNet and DeconvNet: a float tie in a max-pooling window may pick
    # the other switch (channels_last pools in another order) and move
    # that value in the decoder; a few labels around it may change
    ties = (
        con.family in ('segnet', 'deconvnet')
        and mismatch <= 1e-3 * ref.shape[-2] * ref.shape[-1])
    check = dict(
        ok=diff <= tol,
        max_abs_diff=diff,
        tolerance=tol,
        label_mismatch=mismatch,
        switch_ties=bool(ties and not diff <= tol))
    if name == 'ours_compiled':
        check['compile_s'] = round(first_s, 1)
    if not (diff <= tol or ties):
        raise SystemExit(f'{con.family}: {name} differs from the plain '
                         f'reference by {diff:.3g} (tolerance {tol:.3g}); '
                         'not timing it')
    return check


def bench_family(family: str, args, threads: int, gemm: List[float],
                 tmpdir: str) -> dict:
    cfg = load_cfg(family, args.size, args.widths, args.fc_channels)
    con = Contenders(family, cfg, args.size)
    record = dict(
        family=family,
        config=osp.join('configs', FAMILIES[family][0]),
        plain=f'benchmarks/plain_models.py:{FAMILIES[family][1]}',
        params_m=_sig(sum(p.numel() for p in con.ours.parameters()) / 1e6))

    # fidelity first: the same weights must give the same logits
    randomize_(con.ours)
    small = con.inputs[..., :64, :64]
    record['layers_copied'] = copy_weights(con.ours, con.plain, small)
    check = compare_logits(con.ours, con.plain, con.inputs)
    labels_ours = con.infer_ours()[0].pred_sem_seg.data[0]
    check['label_mismatch'] = int((labels_ours != con.infer_plain()[0]).sum())
    record['fidelity'] = check
    if not check['ok']:
        raise SystemExit(f'{family}: ours and the plain reference differ '
                         f'({check}); not timing them')

    record['gflop_per_image'] = _sig(count_gflop(con.ours, con.inputs))
    # a check of the count: the convolutions alone, counted by hand
    record['conv_gflop_ours'] = _sig(
        conv_gflop(con.ours, lambda: con.ours(con.inputs, mode='tensor')))
    record['conv_gflop_plain'] = _sig(
        conv_gflop(con.plain, lambda: con.plain(con.inputs)))

    calls = dict(ours=con.infer_ours, plain=con.infer_plain)
    for name, fast, flag, label in FAST_VARIANTS:
        if getattr(args, flag):
            record[f'fidelity_{label}'] = check_fast(con, cfg, name, fast)
            calls[name] = functools.partial(con.infer_ours, con.fast[name])
    if args.no_onnx:
        record['onnxruntime'] = dict(skipped='--no-onnx')
    else:
        con.session, note = onnx_session(con, tmpdir, threads)
        if con.session is None:
            record['onnxruntime'] = dict(skipped=note)
        else:
            record['onnxruntime'] = note
            calls['onnxruntime'] = con.infer_onnxruntime
    print(f'[{family}] inference: {", ".join(calls)}', flush=True)
    first = len(gemm)
    infer = time_rounds(calls, args.rounds, gemm)
    con.session = None

    losses, train = {}, {}
    if not args.no_train:
        con.setup_training()
        print(f'[{family}] training step', flush=True)
        train = time_rounds(
            dict(
                ours=lambda: losses.__setitem__('ours', con.train_ours()),
                plain=lambda: losses.__setitem__('plain', con.train_plain())),
            args.rounds, gemm)
    family_gemm = max(gemm[first:])
    record['gemm_gflops'] = round(family_gemm, 1)

    record['infer'] = {}
    for name, times in infer.items():
        entry = summary(times)
        rate = record['gflop_per_image'] * INFER_BATCH / min(times)
        entry.update(
            gflops=_sig(rate), pct_gemm=round(100 * rate / family_gemm, 1))
        record['infer'][name] = entry
    record['train'] = {name: summary(t) for name, t in train.items()}
    for name, loss in losses.items():
        record['train'][name]['last_loss'] = loss
    plain_med = record['infer']['plain']['median_ms']
    record['infer_ratio'] = {
        name: round(e['median_ms'] / plain_med, 3)
        for name, e in record['infer'].items() if name != 'plain'
    }
    if train:
        record['train_ratio'] = round(
            record['train']['ours']['median_ms'] /
            record['train']['plain']['median_ms'], 3)
    con = None  # free both models before the memory probes
    gc.collect()

    if args.no_memory:
        record['memory'] = dict(skipped='--no-memory')
        return record
    record['memory'] = {}
    variants = ['ours', 'plain'] + [
        name for name, _, flag, _ in FAST_VARIANTS if getattr(args, flag)
    ]
    for task in ('infer', ) if args.no_train else ('infer', 'train'):
        record['memory'][task] = {}
        for variant in variants:
            if task == 'train' and variant.startswith('ours_'):
                continue
            print(f'[{family}] peak memory: {task} {variant}', flush=True)
            record['memory'][task][variant] = measure_memory(
                dict(
                    family=family,
                    variant=variant,
                    task=task,
                    size=list(args.size),
                    threads=threads,
                    widths=args.widths,
                    fc_channels=args.fc_channels))
    return record


# --------------------------------------------------------------- output
def machine_info(threads: int) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info = dict(
        cpu=cpu,
        logical_cpus=os.cpu_count(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        threads=threads,
        cpu_capability=torch.backends.cpu.get_cpu_capability())
    for name in ('mmseg', 'mmengine', 'mmcv', 'onnxruntime'):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    return info


TIMED = dict(
    infer='batch 1, normalised input tensor -> labels at input size, '
    'torch.no_grad(); ours: model.predict(inputs, data_samples); plain: '
    'forward + bilinear upsampling (if smaller) + argmax; onnxruntime: '
    'session.run + the same upsampling and argmax; fast: ours with '
    'test_cfg.fast=True; compiled: ours with test_cfg.fast=dict(compile='
    'True) after its first call, which compiles (compile s)',
    train='batch 2, uint8 BGR images + labels -> one SGD step; ours: '
    'model.train_step(data, optim_wrapper) with the config\'s '
    'optim_wrapper; plain: normalise, forward, upsample, cross-entropy, '
    'backward, SGD step',
    memory='separate process per cell: peak RSS of one call after a warm-up '
    'call (delta over the RSS just before it; peak of the process)',
    gflop='2 x multiply-adds of the forward (mmengine counter, as '
    'get_flops.py), per image; GFLOP/s at the minimum inference time; '
    '% of the fp32 GEMM rate (torch.mm 2048x2048, best per round) measured '
    'in the same rounds')


def _ms(entry: Optional[dict]) -> str:
    if not entry:
        return 'n/a'
    return f'{entry["min_ms"]:.0f} / {entry["median_ms"]:.0f}'


def _mem(memory: dict, task: str, variant: str) -> str:
    entry = memory.get(task, {}).get(variant, {})
    if 'delta_mb' not in entry:
        return 'n/a'
    return f'{entry["delta_mb"]:.0f}'


def to_markdown(result: dict) -> str:
    m, s = result['machine'], result['settings']
    fast = [(name, label) for name, _, flag, label in FAST_VARIANTS
            if s.get(flag)]
    lines = [
        f'Machine: {m["cpu"]}, {m["threads"]} torch threads, torch '
        f'{m["torch"]} ({m["cpu_capability"]}), onnxruntime '
        f'{m["onnxruntime"] or "not installed"}; input '
        f'{s["size"][0]}x{s["size"][1]}, fp32, {s["rounds"]} rounds '
        f'alternating; fp32 GEMM rate {result["gemm_gflops"]:.0f} GFLOP/s.',
        '',
        'Inference, batch 1 (ms, min / median; ratio of medians to plain '
        'PyTorch; GFLOP/s at the minimum; peak MB = RSS increase of one '
        'call):',
        '',
    ]
    head = ['model', 'GFLOP', 'ours ms', 'plain ms', 'ours/plain']
    for _, label in fast:
        head += [f'{label} ms', f'{label}/plain']
    if any(name == 'ours_compiled' for name, _ in fast):
        head += ['compile s']
    head += [
        'ours GFLOP/s', '% GEMM', 'plain % GEMM', 'ORT ms', 'ORT/plain',
        'peak MB ours / plain'
    ]
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in result['families']:
        inf, ratio, mem = r['infer'], r['infer_ratio'], r['memory']
        row = [
            r['family'], f'{r["gflop_per_image"]:.4g}',
            _ms(inf['ours']),
            _ms(inf['plain']), f'{ratio["ours"]:.2f}'
        ]
        for name, _ in fast:
            row += [
                _ms(inf.get(name)),
                f'{ratio[name]:.2f}' if name in ratio else 'n/a'
            ]
        if any(name == 'ours_compiled' for name, _ in fast):
            row.append(f'{r["fidelity_compiled"]["compile_s"]:.0f}')
        ort = inf.get('onnxruntime')
        row += [
            f'{inf["ours"]["gflops"]:.0f}', f'{inf["ours"]["pct_gemm"]:.0f}',
            f'{inf["plain"]["pct_gemm"]:.0f}',
            _ms(ort) if ort else 'skipped',
            f'{ort["median_ms"] / inf["plain"]["median_ms"]:.2f}'
            if ort else 'n/a', f'{_mem(mem, "infer", "ours")} / '
            f'{_mem(mem, "infer", "plain")}'
        ]
        lines.append('| ' + ' | '.join(row) + ' |')
    trained = [r for r in result['families'] if r['train']]
    if trained:
        lines += [
            '', 'Training step, batch 2 (ms, min / median; ratio of medians):',
            '', '| model | ours ms | plain ms | ours/plain | peak MB ours / '
            'plain |', '|---|---|---|---|---|'
        ]
    for r in trained:
        t, mem = r['train'], r['memory']
        lines.append(f'| {r["family"]} | {_ms(t["ours"])} | '
                     f'{_ms(t["plain"])} | {r["train_ratio"]:.2f} | '
                     f'{_mem(mem, "train", "ours")} / '
                     f'{_mem(mem, "train", "plain")} |')
    skipped = [(r['family'], r['onnxruntime']['skipped'])
               for r in result['families'] if 'skipped' in r['onnxruntime']]
    lines.append('')
    for family, why in skipped:
        lines.append(f'- ONNX Runtime skipped for {family}: {why}')
    for key, text in TIMED.items():
        lines.append(f'- {key}: {text}')
    lines.append(f'- command: `{result["command"]}`')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.probe:
        print(json.dumps(probe(json.loads(args.probe))))
        return None
    threads = torch.get_num_threads()
    if args.fast or args.compile:
        cfg = load_cfg(args.families[0], args.size, args.widths,
                       args.fc_channels)
        if not fast_supported(cfg, compile=args.compile):
            raise SystemExit('--fast/--compile: this mmseg_ext does not '
                             'read model.test_cfg.fast (or its compile '
                             'option; the fast inference path of issue 11)'
                             '; run without them')
    torch.manual_seed(0)
    gemm = []
    families = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for family in args.families:
            families.append(bench_family(family, args, threads, gemm, tmpdir))
    result = dict(
        command=' '.join(['python benchmarks/speed.py'] +
                         (argv if argv is not None else sys.argv[1:])),
        machine=machine_info(threads),
        settings=dict(
            size=list(args.size),
            rounds=args.rounds,
            infer_batch=INFER_BATCH,
            train_batch=TRAIN_BATCH,
            dtype='float32',
            fast=args.fast,
            compile=args.compile,
            widths=args.widths or list(VGG16_WIDTHS),
            fc_channels=args.fc_channels,
            gemm_n=GEMM_N),
        timed=TIMED,
        gemm_gflops=round(max(gemm), 1),
        families=families)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out + '.json', 'w') as f:
        json.dump(result, f, indent=2)
    markdown = to_markdown(result)
    with open(args.out + '.md', 'w') as f:
        f.write(markdown)
    print(markdown)
    print(f'wrote {args.out}.md and {args.out}.json')
    return result


if __name__ == '__main__':
    main()
