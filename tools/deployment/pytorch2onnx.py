"""Export a segmentor to ONNX and check onnxruntime against PyTorch.

The exported graph maps a normalised image batch (the data preprocessor's
output) to the decode head's logits, i.e. ``model(inputs, mode='tensor')``.
Unpooling decoders export too: their unpooling is a ``scatter``
(``ScatterElements``, opset 11), not ``max_unpool2d``.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.utils import mkdir_or_exist
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

MIN_OPSET = 11  # ScatterElements


class TensorMode(nn.Module):
    """Wrap a segmentor so that ``forward(inputs)`` returns its logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs, mode='tensor')


def build_model(cfg: Config, checkpoint: Optional[str] = None) -> nn.Module:
    """Build the config's model on CPU in eval mode, with weights from
    ``checkpoint`` (weights-only load) or from its initialisation."""
    register_all_modules()
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()
    else:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
        model.load_state_dict(ckpt.get('state_dict', ckpt))
    return revert_sync_batchnorm(model).eval()


def export(model: nn.Module,
           output_file: str,
           shape: Sequence[int],
           opset: int = MIN_OPSET) -> None:
    """Export ``model``'s logits for a (1, 3, H, W) input to ONNX."""
    if opset < MIN_OPSET:
        raise ValueError(f'--opset must be >= {MIN_OPSET}, got {opset}')
    mkdir_or_exist(osp.dirname(osp.abspath(output_file)))
    dummy = torch.zeros(1, 3, *shape)
    with torch.no_grad():
        torch.onnx.export(
            TensorMode(model).eval(), (dummy, ),
            output_file,
            input_names=['input'],
            output_names=['logits'],
            opset_version=opset,
            dynamo=False)


def verify(model: nn.Module,
           output_file: str,
           shape: Sequence[int],
           atol: float = 1e-4,
           seed: int = 0) -> Tuple[float, int]:
    """Compare onnxruntime with PyTorch on a random input.

    Returns:
        tuple[float, int]: The max abs difference of the logits and the
        number of pixels whose argmax differs.

    Raises:
        SystemExit: If the difference reaches ``atol`` or any argmax
            differs.
    """
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(output_file)
    inputs = torch.randn(
        1, 3, *shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = TensorMode(model).eval()(inputs).numpy()
    session = ort.InferenceSession(
        output_file, providers=['CPUExecutionProvider'])
    actual = session.run(None, {'input': inputs.numpy()})[0]
    if actual.shape != expected.shape:
        raise SystemExit(f'onnxruntime gave logits of shape {actual.shape}, '
                         f'PyTorch {expected.shape}')
    max_diff = float(np.abs(actual - expected).max())
    mismatch = int((actual.argmax(1) != expected.argmax(1)).sum())
    if not max_diff < atol or mismatch:
        raise SystemExit(f'onnxruntime differs from PyTorch: max abs diff '
                         f'{max_diff:.3g} (tolerance {atol:g}), {mismatch} '
                         'pixels with another argmax')
    return max_diff, mismatch


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export a segmentor to ONNX (logits of mode="tensor")')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint; initial weights if absent')
    parser.add_argument(
        '--output-file', default='tmp.onnx', help='ONNX file to write')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input height and width; default: the config\'s crop_size')
    parser.add_argument(
        '--opset', type=int, default=MIN_OPSET, help='ONNX opset (>= 11)')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='check onnxruntime against PyTorch on a random input')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest max abs difference of the logits --verify accepts')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.opset < MIN_OPSET:
        raise SystemExit(f'--opset must be >= {MIN_OPSET}, got {args.opset}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    shape = args.shape or cfg.get('crop_size', (512, 512))
    model = build_model(cfg, args.checkpoint)
    export(model, args.output_file, shape, args.opset)
    print(f'exported {args.output_file} (input 1x3x{shape[0]}x{shape[1]}, '
          f'opset {args.opset})')
    if args.verify:
        max_diff, _ = verify(model, args.output_file, shape, args.atol)
        print(f'onnxruntime matches PyTorch: max abs diff {max_diff:.3g}, '
              'same argmax everywhere')


if __name__ == '__main__':
    main()
