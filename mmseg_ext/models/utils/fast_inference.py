"""Fast inference: BatchNorm folded into convs on the fly, channels_last,
and the network compiled by inductor with its weights frozen.

Nothing here changes a model: BatchNorm layers are folded into the conv
before them only for the duration of a call (:func:`conv_bn_folded`), with
weights computed for that call and dropped after it, so training, the
``state_dict`` and checkpoints never see folded weights, and no second copy
of the weights is kept. :class:`FrozenCompiled` keeps its frozen copy of
the weights beside the model's, and compiles again when they change.
"""
import time
import weakref
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Iterator, List, Sequence, Tuple, TypeVar

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks import wrappers
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

#: The parts of the fast path ``test_cfg.fast`` can switch one by one.
FAST_OPTIONS = ('fold_bn', 'channels_last', 'native_unpool', 'compile')

T = TypeVar('T')

#: A conv and the BatchNorm that normalises its output, by module name.
ConvBNPair = Tuple[str, str]

#: What ``test_cfg.fast=True`` turns on: folding BatchNorm per call did
#: not pay on a 2-core CPU (new weights each call), so it is opt-in;
#: compiling pays back its compile time only over many images (a test set,
#: a video), so it is opt-in too. ``channels_last=None`` lays the input out
#: channels_last where that pays: in networks without transposed
#: convolutions, whose channels_last kernels are slower on a CPU
#: (DeconvNet's decoder; README, Speed).
FAST_DEFAULTS = dict(
    fold_bn=False, channels_last=None, native_unpool=True, compile=False)

#: ``--fast [on|compile]`` of ``tools/test.py`` and the demos, as the
#: ``test_cfg.fast`` it sets.
FAST_CLI_CHOICES = {'on': True, 'compile': dict(compile=True)}


def add_fast_argument(parser) -> None:
    """Add ``--fast [on|compile]`` to an ``argparse`` parser, as
    ``tools/test.py`` and the demos take it; its value, if given, is a key
    of :data:`FAST_CLI_CHOICES`."""
    parser.add_argument(
        '--fast',
        nargs='?',
        const='on',
        choices=tuple(FAST_CLI_CHOICES),
        help='fast inference (model.test_cfg.fast; PyTorch models): '
        'channels_last, native unpooling; `--fast compile` also compiles '
        'the network with its weights frozen (seconds to a minute first, '
        'pays back over many images); the labels of the plain model')


def parse_fast_cfg(cfg) -> dict:
    """Which parts of the fast path ``test_cfg.fast`` turns on.

    Args:
        cfg (bool | dict | None): ``None``/``False`` (off), ``True``
            (:data:`FAST_DEFAULTS`) or a dict of :data:`FAST_OPTIONS` to
            bools (absent ones as in :data:`FAST_DEFAULTS`).

    Returns:
        dict: Each of :data:`FAST_OPTIONS` to a bool; all ``False`` when off.
        ``channels_last`` is ``None`` (the model decides,
        :func:`pays_channels_last`) unless ``cfg`` sets it.
    """
    if cfg is None or cfg is False:
        return {name: False for name in FAST_OPTIONS}
    if cfg is True:
        return dict(FAST_DEFAULTS)
    if not isinstance(cfg, dict):
        raise TypeError('`test_cfg.fast` must be True, False or a dict of '
                        f'{FAST_OPTIONS} to bools, got {cfg!r}')
    unknown = sorted(set(cfg) - set(FAST_OPTIONS))
    if unknown:
        raise TypeError(f'unknown `test_cfg.fast` option(s) {unknown}; '
                        f'choose from {FAST_OPTIONS}')
    fast = {
        name: bool(cfg[name]) if name in cfg else FAST_DEFAULTS[name]
        for name in FAST_OPTIONS
    }
    if fast['fold_bn'] and fast['compile']:
        raise TypeError('`test_cfg.fast`: choose one of fold_bn and compile '
                        '(compile folds BatchNorm itself)')
    return fast


def pays_channels_last(model: nn.Module) -> bool:
    """Whether fast inference lays ``model``'s input out channels_last by
    default: unless it has transposed convolutions (their channels_last
    kernels are slower on a CPU: DeconvNet's fast path took 1.34x the
    plain model's time with them, README, Speed)."""
    return not any(
        isinstance(m, nn.modules.conv._ConvTransposeNd)
        for m in model.modules())


def _weights_key(module: nn.Module) -> tuple:
    """Changes whenever a parameter or buffer of ``module`` is replaced or
    written in place (an optimizer step, ``load_state_dict``, ``.to``)."""
    return tuple((t.data_ptr(), t._version, t.dtype, t.device)
                 for t in (*module.parameters(), *module.buffers()))


class FrozenCompiled:
    """``fn(module, x)`` compiled by inductor with the weights of
    ``module`` frozen into it, compiled again when they change.

    Freezing (``torch._inductor.config.freezing``) turns the parameters and
    buffers into constants of the compiled graph, which folds BatchNorm
    into the convs, lays the weights out for oneDNN once and fuses the
    element-wise work around them. Compiling takes seconds to a minute on a
    CPU (once per input shape, ``dynamic=False``; logged), so it pays back
    only over many images. The frozen constants are a second copy of the
    weights, and they would silently go stale if the weights changed, so
    every call first compares the identity and version of each parameter
    and buffer with those at the last compile; after any change (a
    training step, ``load_state_dict``) dynamo's caches are reset
    (:func:`torch.compiler.reset`, which also drops other compiled code of
    the process) and the call compiles again. Calls run without autograd.

    A BatchNorm right after a transposed convolution (an mmcv
    ``ConvModule`` with ``conv_cfg=dict(type='deconv')``, as DeconvNet's
    decoder) is folded here, not by inductor: inductor's freezing folds
    such a BatchNorm into the weight's first axis, which for a transposed
    conv is the input channels (torch 2.13; wrong logits wherever the
    widths are equal). While compiling and at every call, those pairs run
    as one transposed conv with the folded weight (:func:`fold_conv_bn`,
    on the output-channel axis), which freezing then computes once as a
    constant; the model itself is restored after each call. Where such a
    pair cannot be folded (a BatchNorm in train mode) the module is
    compiled without freezing.

    Copies of it (``copy.deepcopy`` of a model, pickling) start uncompiled.

    Args:
        fn (Callable): ``fn(module, x)``, what to compile.
    """

    def __init__(self, fn: Callable[[nn.Module, Tensor], Tensor]):
        self.fn = fn
        self._compiled = None
        self._key = None
        #: (module, forward) patched in for each call: a BatchNorm after a
        #: transposed conv folded into it (the same functions every call,
        #: which dynamo's guards compare)
        self._patches: List[Tuple[nn.Module, Callable]] = []
        #: whether the weights are frozen into the graph (decided at each
        #: compile; False only where a BatchNorm after a transposed conv
        #: cannot be folded here, e.g. one in train mode)
        self.freezing = None
        #: seconds each call that compiled took, in order
        self.compile_times: List[float] = []

    @staticmethod
    def transposed_conv_bn(
            module: nn.Module) -> List[Tuple[nn.Module, nn.Module]]:
        """The (transposed conv, BatchNorm) pairs of ``module`` where the
        BatchNorm normalises the conv's output: the conv and norm of an
        mmcv ``ConvModule`` (which norms right after the conv) and adjacent
        layers of an ``nn.Sequential``."""
        found = []
        for m in module.modules():
            if isinstance(m, ConvModule):
                order = list(m.order)
                norm_next = m.with_norm and order.index(
                    'norm') == order.index('conv') + 1
                pairs = [(m.conv, m.norm)] if norm_next else []
            elif isinstance(m, nn.Sequential):
                pairs = list(zip(m, list(m)[1:]))
            else:
                continue
            found += [(conv, bn) for conv, bn in pairs
                      if getattr(conv, 'transposed', False) is True
                      and isinstance(bn, _BatchNorm)]
        return found

    def __deepcopy__(self, memo) -> 'FrozenCompiled':
        return type(self)(self.fn)

    def __reduce__(self):
        return type(self), (self.fn, )

    def __call__(self, module: nn.Module, x: Tensor) -> Tensor:
        import torch._inductor.config as inductor_config
        key = _weights_key(module)
        if key != self._key:
            if self._compiled is not None:
                torch.compiler.reset()  # else the stale weights stay frozen
            pairs = self.transposed_conv_bn(module)
            self.freezing = all(
                _foldable(conv, bn) and not bn.training for conv, bn in pairs)
            self._patches = [
                patch for conv, bn in pairs
                for patch in ((conv, _bind(conv, bn, always=True)),
                              (bn, _identity))
            ] if self.freezing else []
            if not self.freezing:
                from mmengine.logging import print_log
                print_log(
                    'test_cfg.fast.compile: compiling '
                    f'{type(module).__name__} without freezing its weights'
                    ' (a BatchNorm after a transposed conv cannot be '
                    'folded)',
                    logger='current')
            self._compiled = torch.compile(
                self.fn, backend='inductor', dynamic=False)
            self._key = key
        frames = _compiled_frames()
        start = time.perf_counter()
        try:
            for patched, forward in self._patches:
                patched.forward = forward
            with torch.no_grad(), inductor_config.patch(
                    freezing=self.freezing):
                out = self._compiled(module, x)
        finally:
            for patched, _ in self._patches:
                patched.__dict__.pop('forward', None)
        if _compiled_frames() != frames:
            seconds = time.perf_counter() - start
            self.compile_times.append(seconds)
            from mmengine.logging import print_log
            print_log(
                f'test_cfg.fast.compile: compiled {type(module).__name__} '
                f'for input {tuple(x.shape)} in {seconds:.1f} s',
                logger='current')
        return out


def _compiled_frames() -> int:
    """How many frames dynamo has compiled in this process."""
    from torch._dynamo.utils import counters
    return counters['stats']['unique_graphs']


#: Convs whose forward is the plain convolution of their weights: others
#: (weight standardisation, adaptive padding) are never folded.
_PLAIN_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d,
                nn.ConvTranspose2d, nn.ConvTranspose3d, wrappers.Conv2d,
                wrappers.Conv3d, wrappers.ConvTranspose2d,
                wrappers.ConvTranspose3d)


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """Whether ``bn`` after ``conv`` is a fixed per-channel affine map that
    can go into the weights of ``conv``."""
    return (type(conv) in _PLAIN_CONVS and isinstance(bn, _BatchNorm)
            and bn.track_running_stats and bn.running_mean is not None
            and bn.num_features == conv.out_channels
            and (not conv.transposed or conv.groups == 1))


def find_conv_bn_pairs(model: nn.Module,
                       forward: Callable[[], T]) -> Tuple[T, List[ConvBNPair]]:
    """Run ``forward()`` once and record which BatchNorms can be folded.

    A BatchNorm is paired with a conv when, at every call of either, its
    input is the output of that conv, unchanged, and that conv is the leaf
    module run just before it; both must be in eval mode.

    Args:
        model (nn.Module): The model ``forward`` runs.
        forward (Callable): Runs ``model`` on some input.

    Returns:
        tuple: What ``forward()`` returned, and the ``(conv, bn)`` module
        names of ``model`` in the order they ran.
    """
    last = []  # the last leaf module run, its output and the output version
    partner, broken = {}, set()
    calls, hits = Counter(), Counter()

    def after(module, args, output):
        calls[module] += 1
        last[:] = [module, weakref.ref(output), output._version
                   ] if (isinstance(output, Tensor)) else []

    def before_bn(bn, args):
        conv, ref, version = last or (None, None, None)
        out = ref() if ref is not None else None
        if (out is None or not args or args[0] is not out
                or out._version != version or not _foldable(conv, bn)
                or conv.training or bn.training):
            broken.add(bn)
            return
        hits[conv] += 1
        for a, b in ((bn, conv), (conv, bn)):
            if partner.setdefault(a, b) is not b:
                broken.update((a, b, partner[a]))

    handles = []
    for module in model.modules():
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(after))
            if isinstance(module, _BatchNorm):
                handles.append(module.register_forward_pre_hook(before_bn))
    try:
        result = forward()
    finally:
        for handle in handles:
            handle.remove()
    names = {module: name for name, module in model.named_modules()}
    pairs = [(names[conv], names[bn]) for conv, bn in partner.items()
             if isinstance(bn, _BatchNorm) and calls[conv] == hits[conv]
             and not {conv, bn} & broken]
    return result, pairs


def fold_conv_bn(conv: _ConvNd, bn: _BatchNorm) -> Tuple[Tensor, Tensor]:
    """Weight and bias of ``bn(conv(x))`` as one conv, BN in eval mode."""
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    bias = -bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    if bn.bias is not None:
        bias = bias + bn.bias
    shape = [1] * conv.weight.dim()
    shape[1 if conv.transposed else 0] = -1
    weight = conv.weight * scale.view(shape).to(conv.weight.dtype)
    return weight, bias.to(conv.weight.dtype)


def _conv(conv: _ConvNd, x: Tensor, weight: Tensor, bias: Tensor,
          *args) -> Tensor:
    """``conv(x, *args)`` with other weights (a stock conv's forward)."""
    if not conv.transposed:
        return conv._conv_forward(x, weight, bias)
    dims = weight.dim() - 2
    output_padding = conv._output_padding(x, args[0] if args else None,
                                          conv.stride, conv.padding,
                                          conv.kernel_size, dims,
                                          conv.dilation)
    conv_transpose = (F.conv_transpose1d, F.conv_transpose2d,
                      F.conv_transpose3d)[dims - 1]
    return conv_transpose(x, weight, bias, conv.stride, conv.padding,
                          output_padding, conv.groups, conv.dilation)


def _folded_forward(conv: _ConvNd,
                    bn: _BatchNorm,
                    x: Tensor,
                    *args,
                    always: bool = False) -> Tensor:
    """``bn(conv(x))`` as one conv where that moves fewer bytes.

    Folding costs a pass over the weights, BatchNorm one over the output:
    a conv whose weight outnumbers its output (deep layers of a small
    input, fc6) runs as conv then BatchNorm, unless ``always``.
    """
    out_numel = x.numel() // max(x.shape[1], 1) * conv.out_channels
    if not always and conv.weight.numel() >= out_numel:
        out = type(conv).forward(conv, x, *args)
        return type(bn).forward(bn, out)
    weight, bias = fold_conv_bn(conv, bn)
    return _conv(conv, x, weight, bias, *args)


def _identity(x: Tensor) -> Tensor:
    return x


@contextmanager
def conv_bn_folded(model: nn.Module,
                   pairs: Sequence[ConvBNPair]) -> Iterator[None]:
    """Within the context, each conv of ``pairs`` also applies its
    BatchNorm, which passes its input through; restored on exit."""
    patched = []
    try:
        for conv_name, bn_name in pairs:
            conv = model.get_submodule(conv_name)
            bn = model.get_submodule(bn_name)
            if not _foldable(conv, bn) or bn.training:
                continue
            conv.forward = _bind(conv, bn)
            bn.forward = _identity
            patched += [conv, bn]
        yield
    finally:
        for module in patched:
            del module.forward


def _bind(conv: _ConvNd,
          bn: _BatchNorm,
          always: bool = False) -> Callable[..., Tensor]:

    def forward(x: Tensor, *args) -> Tensor:
        return _folded_forward(conv, bn, x, *args, always=always)

    return forward
