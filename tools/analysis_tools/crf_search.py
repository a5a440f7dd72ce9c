"""Choose the dense CRF's settings for a checkpoint by searching them.

DeepLab (Chen et al., ICLR 2015) chose its fully connected CRF's settings by
cross-validation on held-out images. Its published values (PASCAL VOC:
``w1=4, theta_alpha=121, theta_beta=5, w2=3, theta_gamma=3``, 10 mean-field
iterations, DenseCRF's defaults) can lower the mIoU of another model on
other data. This tool searches them for one checkpoint:

1. The network runs once per image of the search set exactly as in
   ``tools/test.py`` (the config's test pipeline and ``model.test_cfg``,
   ``logit_adjust`` included, logits resized to the image's original size);
   each image's logits, the image the CRF sees
   (``CRFEncoderDecoder.crf_image``), the network's own prediction and the
   ground truth are kept in memory: about 11 MB per 480x360 image with 11
   classes, hence ``--num-images``.
2. A trial refines every cached image with ``DenseCRF.refine_logits``, as
   ``CRFEncoderDecoder`` does at test time, and scores the set by mIoU with
   mmseg's ``IoUMetric`` (``intersect_and_union`` summed over the images,
   then ``total_area_to_metrics``, as ``tools/test.py`` reports it). The
   trials are "no CRF" (the network alone), DeepLab's VOC values, the
   config's own ``test_cfg.crf`` if it has one, then ``--trials`` random
   settings drawn log-uniformly around DeepLab's (``SPACE``) or, with
   ``--grid``, a small grid over the appearance kernel as DeepLab searched it
   (``GRID``). The images of a trial are shared among ``--workers``
   processes.
3. The best trials are printed. ``--out-snippet`` gets the best setting as a
   config, ``model = dict(test_cfg=dict(crf=dict(...)))`` on top of
   ``_base_ = CONFIG``, to pass to ``tools/test.py`` as the config; its
   header also holds the same setting as ``--cfg-options``, for any other
   config. If no CRF beats "no CRF" on the search set, the tool says so and
   the snippet sets ``crf=None``. ``--out`` gets every trial (settings,
   mIoU, aAcc, IoU per class, time) as json.

Protocol: tune on images held out from *training*, never on the images the
result is reported on, then measure on val with ``tools/test.py``, once with
the config and once with the snippet. ``--split`` is a split file read like
the train dataset's ``ann_file`` (relative to ``data_root``, or a path),
with the train dataset's folders (``data_prefix``); the default is the train
dataset's own split. The CamVid recipes train on all 367 train images, so
for a clean search train on part of them
(``--cfg-options train_dataloader.dataset.ann_file=FIT.txt``) and search on
the rest (``--split HELD_OUT.txt``). Searching on the images a checkpoint
was trained on is quicker but weaker: the network is more confident there
than on unseen images, so the CRF is tuned for cleaner unaries than val's,
and only the val numbers decide.

Example (CamVid, 100 train images, 40 random settings)::

    python tools/analysis_tools/crf_search.py CONFIG CHECKPOINT \\
        --num-images 100 --trials 40 --seed 0 \\
        --out-snippet work_dirs/crf_search/crf.py \\
        --out work_dirs/crf_search/trials.json
    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py work_dirs/crf_search/crf.py CHECKPOINT
"""
import argparse
import itertools
import math
import multiprocessing
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.fileio import dump
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import mkdir_or_exist
from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS, MODELS
from prettytable import PrettyTable

from mmseg_ext.datasets import check_datasets
from mmseg_ext.engine import MMSegExtError, verify_checkpoint
from mmseg_ext.models import CRFEncoderDecoder, DenseCRF

#: Random search: log-uniform ranges (low, high) around DeepLab's VOC values
#: (w1=4, theta_alpha=121, theta_beta=5, w2=3, theta_gamma=3), and the
#: mean-field iterations to choose from.
SPACE = dict(
    w1=(0.8, 20.),
    theta_alpha=(15., 240.),
    theta_beta=(2., 16.),
    w2=(0.5, 10.),
    theta_gamma=(1., 8.))
ITERATIONS = (3, 5, 10)
#: Grid search: DeepLab kept w2=3 and theta_gamma=3 and searched the
#: appearance kernel (w1, theta_alpha, theta_beta).
GRID = dict(
    iterations=(10, ),
    w1=(2., 4., 8.),
    theta_alpha=(30., 60., 121.),
    theta_beta=(3., 5., 10.),
    w2=(3., ),
    theta_gamma=(3., ))
KEYS = ('iterations', 'w1', 'theta_alpha', 'theta_beta', 'w2', 'theta_gamma')
DEEPLAB_VOC = {k: getattr(DenseCRF(), k) for k in KEYS}

# (logits, image) per cached image; filled before the workers fork
_CACHE: List[tuple] = []


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Search the dense CRF settings on held-out images')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split',
        help='split file of the images to search on (one name per line), '
        'relative to data_root or a path; images and labels come from the '
        'train dataset\'s folders. Default: the train dataset\'s ann_file')
    parser.add_argument(
        '--num-images',
        type=int,
        default=100,
        help='search on this many images, evenly spread over the split '
        '(0: all). Default: 100')
    search = parser.add_mutually_exclusive_group()
    search.add_argument(
        '--trials',
        type=int,
        default=30,
        help='random settings to try besides the baselines. Default: 30')
    search.add_argument(
        '--grid',
        action='store_true',
        help='try the settings of GRID instead of random ones')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random search')
    parser.add_argument(
        '--workers',
        type=int,
        default=2,
        help='processes that share the images of a trial. Default: 2')
    parser.add_argument(
        '--top', type=int, default=10, help='trials to print. Default: 10')
    parser.add_argument(
        '--out-snippet', help='write the best setting as a config here')
    parser.add_argument('--out', help='write all trials to this json file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def search_dataset(cfg: Config, split: Optional[str]) -> ConfigDict:
    """The test dataset, on ``split`` with the train dataset's folders."""
    dataset = cfg.test_dataloader.dataset
    train = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'dataset' in train or 'datasets' in train:  # dataset wrappers
        train = train.get('dataset') or train['datasets'][0]
    if split is None:
        split = train.get('ann_file')
        if not split:
            raise SystemExit('the train dataset has no `ann_file`: name the '
                             'search images with --split FILE')
    elif osp.isfile(split):
        split = osp.abspath(split)
    dataset.ann_file = split
    if 'data_prefix' in train:
        dataset.data_prefix = train.data_prefix
    return dataset


def random_trials(num: int, seed: int) -> List[Dict]:
    """``num`` settings drawn log-uniformly from ``SPACE``, 3 digits."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(num):
        crf = dict(iterations=int(rng.choice(ITERATIONS)))
        for key, (low, high) in SPACE.items():
            value = math.exp(rng.uniform(math.log(low), math.log(high)))
            crf[key] = float(f'{value:.3g}')
        trials.append(crf)
    return trials


def grid_trials() -> List[Dict]:
    """Every setting of ``GRID``."""
    return [
        dict(zip(GRID, values)) for values in itertools.product(*GRID.values())
    ]


def _init_worker():
    torch.set_num_threads(1)


def _crf_label(task) -> np.ndarray:
    """The CRF's label map for one cached image."""
    crf, index = task
    logits, image = _CACHE[index]
    log_marginals = DenseCRF(**crf).refine_logits(logits, image)
    return log_marginals.argmax(dim=0).numpy()


def cache_predictions(model: CRFEncoderDecoder, loader) -> List[Dict]:
    """Run the network once per image; keep what the CRF trials need."""
    samples = []
    for data in loader:
        with torch.no_grad():
            data = model.data_preprocessor(data, False)
            results = model.predict(data['inputs'], data['data_samples'])
        for inputs, result in zip(data['inputs'], results):
            logits = result.seg_logits.data.float()
            image = model.crf_image(inputs, result, logits.shape[-2:])
            _CACHE.append((logits, image))
            samples.append(
                dict(
                    img_path=result.metainfo.get('img_path'),
                    pred=result.pred_sem_seg.data.squeeze(0),
                    gt=result.gt_sem_seg.data.squeeze(0)))
    return samples


def score(preds, samples, class_names, ignore_index: int) -> Dict:
    """mIoU, aAcc and IoU per class of label maps, as IoUMetric has them."""
    areas = []
    for pred, sample in zip(preds, samples):
        pred = torch.as_tensor(pred)
        label = sample['gt'].to(pred)
        areas.append(
            IoUMetric.intersect_and_union(pred, label, len(class_names),
                                          ignore_index))
    totals = [sum(area) for area in zip(*areas)]
    metrics = IoUMetric.total_area_to_metrics(*totals, ['mIoU'])
    iou = metrics['IoU'] * 100
    return dict(
        mIoU=float(np.nanmean(iou)),
        aAcc=float(metrics['aAcc'] * 100),
        IoU={
            name: None if math.isnan(v) else float(v)
            for name, v in zip(class_names, iou.tolist())
        })


def run_trial(trial: Dict, samples, pool, class_names, ignore_index):
    """Score one trial on the cached images (in place), timing it."""
    start = time.perf_counter()
    if trial['crf'] is None:
        preds = [sample['pred'] for sample in samples]
    else:
        tasks = [(trial['crf'], i) for i in range(len(samples))]
        preds = list((pool.imap if pool else map)(_crf_label, tasks))
    trial.update(score(preds, samples, class_names, ignore_index))
    trial['s_per_image'] = (time.perf_counter() - start) / len(samples)
    return trial


def _fmt(value, spec: str = 'g') -> str:
    return '-' if value is None else format(value, spec)


def print_table(trials: List[Dict], top: int) -> None:
    ranked = sorted(trials, key=lambda t: -t['mIoU'])
    shown = ranked[:top] + [
        t for t in ranked[top:] if t['name'] in ('no CRF', 'DeepLab VOC')
    ]
    table = PrettyTable(['rank', 'trial', 'mIoU', 'aAcc', *KEYS, 's/img'])
    for trial in shown:
        crf = trial['crf'] or {}
        table.add_row([
            ranked.index(trial) + 1, trial['name'], f'{trial["mIoU"]:.2f}',
            f'{trial["aAcc"]:.2f}', *(_fmt(crf.get(k)) for k in KEYS),
            f'{trial["s_per_image"]:.3f}'
        ])
    print(table.get_string())


def cfg_options(crf: Optional[Dict]) -> str:
    """The setting as ``--cfg-options`` arguments."""
    if crf is None:
        return 'model.test_cfg.crf=None'
    return ' '.join(f'model.test_cfg.crf.{k}={crf[k]!r}' for k in KEYS)


def write_snippet(path: str, config: str, best: Dict, no_crf: Dict,
                  report: Dict) -> None:
    """The best setting as a config inheriting ``config``."""
    crf = best['crf']
    body = 'None'
    if crf is not None:
        body = 'dict(' + ', '.join(f'{k}={crf[k]!r}' for k in KEYS) + ')'
    base = osp.relpath(osp.abspath(config), osp.dirname(osp.abspath(path)))
    lines = [
        '# Dense CRF setting chosen by tools/analysis_tools/crf_search.py',
        f'# checkpoint: {report["checkpoint"]}',
        f'# search set: {report["num_images"]} images of '
        f'{report["split"]}, {len(report["trials"])} trials '
        f'({report["search"]}, seed {report["seed"]})',
        f'# mIoU there: no CRF {no_crf["mIoU"]:.2f}, this setting '
        f'({best["name"]}) {best["mIoU"]:.2f}',
        '# for another config: --cfg-options ' + cfg_options(crf),
        f'_base_ = {base!r}',
        f'model = dict(test_cfg=dict(crf={body}))',
    ]
    mkdir_or_exist(osp.dirname(osp.abspath(path)))
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset_cfg = search_dataset(cfg, args.split)
    try:
        check_datasets(cfg, ['test_dataloader'])
        verify_checkpoint(args.checkpoint)
    except MMSegExtError as e:
        raise SystemExit(f'{type(e).__name__}: {e}') from None
    dataset = DATASETS.build(dataset_cfg)
    indices = list(range(len(dataset)))
    if args.num_images and args.num_images < len(dataset):
        spread = np.linspace(0, len(dataset) - 1, args.num_images).round()
        indices = sorted(set(spread.astype(int).tolist()))
        dataset = dataset.get_subset(indices)
    class_names = list(dataset.metainfo['classes'])
    evaluator = cfg.get('test_evaluator')
    ignore_index = (evaluator or {}).get('ignore_index', 255) if isinstance(
        evaluator, dict) else 255

    config_crf = (cfg.model.get('test_cfg') or {}).get('crf')
    cfg.model.setdefault('test_cfg', {})['crf'] = None  # the network alone
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    if not isinstance(model, CRFEncoderDecoder):
        raise SystemExit('the model must be a CRFEncoderDecoder: add '
                         '--cfg-options model.type=CRFEncoderDecoder')
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model = revert_sync_batchnorm(model).eval()
    loader_cfg = dict(cfg.test_dataloader, dataset=dataset, batch_size=1)
    loader = Runner.build_dataloader(loader_cfg)

    start = time.perf_counter()
    _CACHE.clear()
    samples = cache_predictions(model, loader)
    network_s = (time.perf_counter() - start) / len(samples)
    print(f'cached {len(samples)} images ({network_s:.3f} s per image)')

    trials = [
        dict(name='no CRF', crf=None),
        dict(name='DeepLab VOC', crf=dict(DEEPLAB_VOC))
    ]
    if config_crf:
        crf = DenseCRF.from_cfg(config_crf)
        trials.append(
            dict(name='config', crf={k: getattr(crf, k)
                                     for k in KEYS}))
    search = 'grid' if args.grid else 'random'
    settings = grid_trials() if args.grid else random_trials(
        args.trials, args.seed)
    for i, crf in enumerate(settings):
        if all(crf != trial['crf'] for trial in trials):
            trials.append(dict(name=f'{search} {i}', crf=crf))

    pool = None
    if args.workers > 1:
        pool = multiprocessing.get_context('fork').Pool(
            min(args.workers, len(samples)), initializer=_init_worker)
    try:
        for i, trial in enumerate(trials):
            run_trial(trial, samples, pool, class_names, ignore_index)
            print(f'[{i + 1}/{len(trials)}] {trial["name"]}: mIoU '
                  f'{trial["mIoU"]:.2f} ({trial["s_per_image"]:.3f} s per '
                  'image)')
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    _CACHE.clear()

    print_table(trials, args.top)
    no_crf = trials[0]
    best = max(trials[1:], key=lambda t: t['mIoU'])
    per_class = PrettyTable(['class', 'no CRF', best['name']])
    for name in class_names:
        per_class.add_row([
            name,
            _fmt(no_crf['IoU'][name], '.2f'),
            _fmt(best['IoU'][name], '.2f')
        ])
    print(per_class.get_string())
    if best['mIoU'] <= no_crf['mIoU']:
        print(f'No CRF setting beats the network alone on these images '
              f'(best: {best["name"]}, {best["mIoU"]:.2f} <= '
              f'{no_crf["mIoU"]:.2f} mIoU): leave the CRF off.')
        best = no_crf
    else:
        print(f'Best: {best["name"]}, mIoU {best["mIoU"]:.2f} '
              f'(no CRF {no_crf["mIoU"]:.2f}):')
    print('--cfg-options ' + cfg_options(best['crf']))

    report = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        split=dataset_cfg.ann_file,
        data_root=dataset_cfg.get('data_root'),
        data_prefix=dict(dataset_cfg.get('data_prefix', {})),
        num_images=len(samples),
        indices=indices,
        images=[osp.basename(str(s['img_path'])) for s in samples],
        search=search,
        seed=args.seed,
        workers=args.workers,
        network_s_per_image=network_s,
        best=best['name'],
        best_crf=best['crf'],
        trials=trials)
    if args.out_snippet:
        write_snippet(args.out_snippet, args.config, best, no_crf, report)
        print(f'config snippet: {args.out_snippet}')
    if args.out:
        mkdir_or_exist(osp.dirname(osp.abspath(args.out)))
        dump(report, args.out, indent=2)
    return report


if __name__ == '__main__':
    main()
