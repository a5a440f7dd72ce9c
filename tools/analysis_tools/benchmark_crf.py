"""Time the dense CRF per test image (and the network, for scale).

The CRF settings are the config's ``model.test_cfg.crf`` (DenseCRF's
defaults when unset); change them with ``--cfg-options
model.test_cfg.crf.iterations=5`` etc. Images are taken one at a time from
the test dataloader, and the CRF runs at each image's original size, exactly
as in ``tools/test.py``. Accuracy with and without the CRF is measured with
``tools/test.py`` itself.
"""
import argparse
import os.path as osp
import time

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.fileio import dump
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmseg.registry import MODELS

from mmseg_ext.models import CRFEncoderDecoder, DenseCRF


def parse_args():
    parser = argparse.ArgumentParser(description='Time the dense CRF')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--num-images', type=int, help='stop after this many images')
    parser.add_argument('--out', help='write the timings to this json file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args()


def _stats(seconds):
    ms = 1000 * np.asarray(seconds)
    return dict(
        mean=float(ms.mean()),
        median=float(np.median(ms)),
        min=float(ms.min()),
        max=float(ms.max()))


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    crf = DenseCRF.from_cfg(cfg.model.test_cfg.get('crf') or True)
    cfg.model.test_cfg.crf = None  # the CRF is timed on its own below
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    if not isinstance(model, CRFEncoderDecoder):
        raise SystemExit('the model must be a CRFEncoderDecoder: add '
                         '--cfg-options model.type=CRFEncoderDecoder')
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model = revert_sync_batchnorm(model).eval()
    cfg.test_dataloader.batch_size = 1
    loader = Runner.build_dataloader(cfg.test_dataloader)

    net, read, refine, sizes = [], [], [], set()
    for i, data in enumerate(loader):
        if args.num_images is not None and i == args.num_images:
            break
        start = time.perf_counter()
        with torch.no_grad():
            data = model.data_preprocessor(data, False)
            result = model.predict(data['inputs'], data['data_samples'])[0]
        logits = result.seg_logits.data
        mid = time.perf_counter()
        image = model.crf_image(data['inputs'][0], result, logits.shape[-2:])
        loaded = time.perf_counter()
        crf.refine_logits(logits, image)
        end = time.perf_counter()
        net.append(mid - start)
        read.append(loaded - mid)
        refine.append(end - loaded)
        sizes.add(tuple(logits.shape))

    report = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        crf=repr(crf),
        images=len(refine),
        crf_shapes=sorted(sizes),
        torch_threads=torch.get_num_threads(),
        network_ms=_stats(net),
        image_read_ms=_stats(read),
        crf_ms=_stats(refine))
    for key, value in report.items():
        print(f'{key}: {value}')
    if args.out:
        dump(report, osp.abspath(args.out), indent=2)


if __name__ == '__main__':
    main()
