"""FLOPs and parameters of a segmentor, as mmseg's ``get_flops.py``.

Same name, arguments and output as mmseg 1.2.2's tool, which fails with
mmengine 0.10.7 (``"input_shape" and "inputs" cannot be both set``): this
one hands the counter only the inputs. ``--shape H W`` (or ``--shape S``
for a square) is the network input; the counter is mmengine's, which
counts one FLOP per multiply-add (as fvcore does), in the model's
``mode='tensor'`` forward (backbone and decode head, no auxiliary head,
no CRF)::

    python tools/analysis_tools/get_flops.py CONFIG --shape 360 480
"""
import argparse
import tempfile

import torch
from mmengine import Config, DictAction
from mmengine.analysis import get_model_complexity_info
from mmengine.analysis.print_helper import _format_size
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Get the FLOPs of a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[2048, 1024],
        help='input image size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def inference(args: argparse.Namespace) -> dict:
    """Count FLOPs and parameters; returns them raw and formatted."""
    cfg = Config.fromfile(args.config)
    cfg.work_dir = tempfile.mkdtemp()
    cfg.log_level = 'WARN'
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if len(args.shape) == 1:
        input_shape = (3, args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        input_shape = (3, ) + tuple(args.shape)
    else:
        raise SystemExit(f'--shape takes H W or S, got {args.shape}')
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    if hasattr(model, 'auxiliary_head'):
        model.auxiliary_head = None
    if torch.cuda.is_available():
        model.cuda()
    model = revert_sync_batchnorm(model).eval()
    meta = dict(ori_shape=input_shape[-2:], pad_shape=input_shape[-2:])
    data = model.data_preprocessor(
        dict(
            inputs=[torch.rand(input_shape)],
            data_samples=[SegDataSample(metainfo=meta)]))
    with torch.no_grad():
        outputs = get_model_complexity_info(
            model, inputs=data['inputs'], show_table=False, show_arch=False)
    return dict(
        input_shape=tuple(data['inputs'].shape[-2:]),
        flops=outputs['flops'],
        params=outputs['params'],
        flops_str=_format_size(outputs['flops']),
        params_str=_format_size(outputs['params']))


def main(argv=None):
    args = parse_args(argv)
    result = inference(args)
    split_line = '=' * 30
    print(f'{split_line}\nCompute type: direct: randomly generate a picture'
          f'\nInput shape: {result["input_shape"]}\n'
          f'Flops: {result["flops_str"]}\nParams: {result["params_str"]}\n'
          f'{split_line}')
    print('!!!Please be cautious if you use the results in papers. '
          'You may need to check if all ops are supported and verify '
          'that the flops computation is correct.')


if __name__ == '__main__':
    main()
