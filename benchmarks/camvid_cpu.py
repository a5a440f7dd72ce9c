"""Train the CamVid CPU recipes, test them and collect their results.

Each run is ``tools/train.py CONFIG --work-dir WORK_ROOT/NAME/seedS`` with
``randomness.seed=S``, timed from start to exit (training and every
validation; nothing else should run on the machine meanwhile). Its last
checkpoint is then tested twice with ``tools/test.py``: as the config says
(``seedS/test``) and with test-time augmentation (``--tta``, ``seedS/tta``:
the config's multi-scale + flip ``tta_pipeline``). The results come from
the work_dirs, never by hand::

    # train (one run after another), test and collect
    python benchmarks/camvid_cpu.py run CONFIG [CONFIG ...] --seeds 0 1
    # test trained runs again (after a change of test settings), collect
    python benchmarks/camvid_cpu.py test CONFIG [CONFIG ...] --seeds 0 1
    # collect only: every run under WORK_ROOT
    python benchmarks/camvid_cpu.py collect
    # only rewrite the metafiles' results from the JSON
    python benchmarks/camvid_cpu.py metafiles

``collect`` writes ``benchmarks/results/camvid_cpu.json`` (a list of
records with ``config``, ``seed``, ``iters``, ``wall_s``, ``mIoU``,
``aAcc`` and ``per_class``, IoU by class name, from the plain test of the
last checkpoint, or the training's last validation where it has none; and
``tta``: ``mIoU``, ``aAcc``, ``per_class`` and ``test_s``, the time of the
test, where it was tested with ``--tta``; ``cfg_options``, where ``run`` was
given ``--cfg-options``, so a run of a changed config never passes for the
committed one; a run found under the work root
replaces the record of its config and seed, the other records stay),
prints a markdown table
for the README, and rewrites the ``Results`` of each recorded config in its
folder's ``metafile.yaml`` (mim's model index): CamVid mIoU and aAcc, the
mean over the config's runs, with a comment naming the seeds. Nothing else
in the metafiles changes. The configs read CamVid from ``data/camvid``
(mmseg's layout); ``--data-root`` links another folder there.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUN_FILE = 'benchmark_run.json'  # written beside the logs of each run
#: what a run file may add to its record: the `--cfg-options` it was
#: trained with, a note on how it was made
RUN_EXTRAS = ('cfg_options', 'note')
#: the tests of a run's last checkpoint: sub-folder -> tools/test.py options
TESTS = {'test': [], 'tta': ['--tta']}
# a row of mmseg's per-class table: | class | IoU | Acc |
TABLE_ROW = re.compile(r'^\|\s*(\S[^|]*?)\s*'
                       r'\|\s*([\d.]+|nan)\s*\|\s*([\d.]+|nan)\s*\|$')
#: marks the metafile results this script writes (and may remove)
WRITTEN_BY = 'written by benchmarks/camvid_cpu.py'


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    run = sub.add_parser('run', help='train configs, test, then collect')
    test = sub.add_parser(
        'test', help='test the trained runs of configs, then collect')
    for p in (run, test):
        p.add_argument('configs', nargs='+')
        p.add_argument('--seeds', nargs='+', type=int, default=[0])
        p.add_argument(
            '--data-root',
            help='CamVid folder (SegNet layout) to link as data/camvid')
    run.add_argument('--cfg-options', nargs='+', default=[])
    metafiles = sub.add_parser(
        'metafiles', help='rewrite the metafiles\' results from --out')
    for p in (run, test,
              sub.add_parser('collect', help='collect results only')):
        p.add_argument('--work-root', default='work_dirs/camvid_cpu')
    for p in (run, test, sub.choices['collect'], metafiles):
        p.add_argument(
            '--out',
            default=osp.join(REPO, 'benchmarks/results/camvid_cpu.json'))
    return parser.parse_args()


def link_data_root(data_root: str) -> None:
    """Make ``data/camvid`` point at ``data_root`` (mmseg's convention)."""
    link = osp.join(REPO, 'data', 'camvid')
    target = osp.abspath(data_root)
    if osp.islink(link):
        if osp.realpath(link) == osp.realpath(target):
            return
        os.remove(link)
    elif osp.exists(link):
        raise SystemExit(f'{link} exists and is not a link; move it or run '
                         'without --data-root')
    os.symlink(target, link)


def train(config: str, seed: int, work_dir: str, cfg_options) -> None:
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools/train.py'), config, '--work-dir', work_dir,
        '--cfg-options', f'randomness.seed={seed}', *cfg_options
    ]
    print('+', ' '.join(cmd), flush=True)
    start = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    wall_s = time.time() - start
    record = dict(config=config, seed=seed, wall_s=round(wall_s, 1))
    if cfg_options:  # a run that is not the config as committed says so
        record['cfg_options'] = list(cfg_options)
    with open(osp.join(work_dir, RUN_FILE), 'w') as f:
        json.dump(record, f)


def test(config: str, work_dir: str) -> None:
    """Test the last checkpoint of ``work_dir`` as each of :data:`TESTS`."""
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SystemExit(f'{config}: no trained run in {work_dir} (no '
                         'last_checkpoint); train it with `run` first')
    with open(last) as f:
        checkpoint = f.read().strip()
    # mmengine writes the checkpoint's absolute path: a work_dir that was
    # moved (or copied from another machine) still holds it by its name
    moved = osp.join(work_dir, osp.basename(checkpoint))
    if not osp.isfile(checkpoint) and osp.isfile(moved):
        checkpoint = moved
    for name, options in TESTS.items():
        test_dir = osp.join(work_dir, name)
        cmd = [
            sys.executable,
            osp.join(REPO, 'tools/test.py'), config, checkpoint, '--work-dir',
            test_dir, *options
        ]
        print('+', ' '.join(cmd), flush=True)
        start = time.time()
        subprocess.run(cmd, check=True, cwd=REPO)
        with open(osp.join(test_dir, RUN_FILE), 'w') as f:
            json.dump(dict(test_s=round(time.time() - start, 1)), f)


def last_log(work_dir: str) -> str:
    logs = sorted(glob.glob(osp.join(work_dir, '2*', '*.log')))
    if not logs:
        raise FileNotFoundError(f'no log under {work_dir}')
    return logs[-1]


def test_result(test_dir: str) -> dict:
    """The metrics of the last test in ``test_dir``; {} if it has none."""
    if not osp.isfile(osp.join(test_dir, RUN_FILE)):
        return {}
    log_file = last_log(test_dir)
    with open(osp.splitext(log_file)[0] + '.json') as f:
        metrics = json.load(f)
    with open(osp.join(test_dir, RUN_FILE)) as f:
        test_s = json.load(f)['test_s']
    return dict(
        mIoU=metrics['mIoU'],
        aAcc=metrics['aAcc'],
        per_class=per_class_iou(log_file),
        test_s=test_s)


def per_class_iou(log_file: str) -> dict:
    """The last per-class table mmseg's IoUMetric printed into the log."""
    tables, rows = [], None
    with open(log_file) as f:
        for line in f:
            line = line.rstrip('\n')
            if 'per class results:' in line:
                rows = {}
                tables.append(rows)
                continue
            match = TABLE_ROW.match(line)
            if rows is not None and match and match.group(1) != 'Class':
                rows[match.group(1)] = float(match.group(2))
    if not tables or not tables[-1]:
        raise ValueError(f'no per-class IoU table in {log_file}')
    return tables[-1]


def collect_run(work_dir: str) -> dict:
    with open(osp.join(work_dir, RUN_FILE)) as f:
        record = json.load(f)
    log_file = last_log(work_dir)
    scalars = osp.join(osp.dirname(log_file), 'vis_data', 'scalars.json')
    val = None
    iters = 0
    with open(scalars) as f:
        for line in f:
            entry = json.loads(line)
            if 'mIoU' in entry:
                val = entry
            else:
                iters = max(iters, entry.get('iter', 0))
    if val is None:
        raise ValueError(f'no validation result in {scalars}')
    # training is logged every few iterations; the last validation's step
    # is the last iteration when max_iters is not a multiple of that
    iters = max(iters, val.get('step', 0))
    result = dict(
        config=record['config'],
        seed=record['seed'],
        iters=iters,
        wall_s=record['wall_s'],
        mIoU=val['mIoU'],
        aAcc=val['aAcc'],
        per_class=per_class_iou(log_file))
    # overrides of the config (`run --cfg-options`) and a note on the run
    result.update((k, record[k]) for k in RUN_EXTRAS if k in record)
    plain = test_result(osp.join(work_dir, 'test'))
    result.update(
        (k, plain[k]) for k in ('mIoU', 'aAcc', 'per_class') if k in plain)
    tta = test_result(osp.join(work_dir, 'tta'))
    if tta:
        result['tta'] = tta
    return result


def merge_records(old: List[dict], new: List[dict]) -> List[dict]:
    """``old`` records with those of ``new`` in place of the same config
    and seed; configs that no longer exist in the repository are dropped.

    The work_dirs of earlier runs may be gone (another machine, a clean
    clone): their results stay in the JSON until a new run of the same
    config and seed replaces them.
    """
    key = lambda r: (r['config'], r['seed'])  # noqa: E731
    merged = {
        key(r): r
        for r in old if osp.isfile(osp.join(REPO, r['config']))
    }
    merged.update((key(r), r) for r in new)
    return sorted(merged.values(), key=key)


def collect(work_root: str, out: str) -> list:
    runs = sorted(
        osp.dirname(p)
        for p in glob.glob(osp.join(work_root, '*', '*', RUN_FILE)))
    old = []
    if osp.isfile(out):
        with open(out) as f:
            old = json.load(f)
    records = merge_records(old, [collect_run(run) for run in runs])
    os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(records, f, indent=1)
        f.write('\n')
    print(f'{len(records)} runs -> {out}\n')
    print('| config | seed | iters | wall | val mIoU | aAcc | TTA mIoU |')
    print('|---|---|---|---|---|---|---|')
    for r in records:
        tta = f"{r['tta']['mIoU']:.2f}" if 'tta' in r else '-'
        print(f"| `{osp.basename(r['config'])}` | {r['seed']} | {r['iters']}"
              f" | {r['wall_s'] / 60:.1f} min | {r['mIoU']:.2f}"
              f" | {r['aAcc']:.2f} | {tta} |")
    for config in sorted({r['config'] for r in records}):
        runs = [r for r in records if r['config'] == config]
        columns = [(f"seed {r['seed']}", r['per_class']) for r in runs]
        columns += [(f"seed {r['seed']}, TTA", r['tta']['per_class'])
                    for r in runs if 'tta' in r]
        print(f'\n`{osp.basename(config)}`, IoU per class:\n')
        print('| class | ' + ' | '.join(c[0] for c in columns) + ' |')
        print('|---|' + '---|' * len(columns))
        for name in runs[0]['per_class']:
            print(f'| {name} | ' + ' | '.join(f'{c[1][name]:.2f}'
                                              for c in columns) + ' |')
    for path in write_metafiles(records):
        print(f'results -> {osp.relpath(path, REPO)}')
    return records


def results_lines(runs: List[dict]) -> List[str]:
    """The ``Results`` of a metafile entry: the mean over ``runs``."""
    seeds = ', '.join(str(r['seed']) for r in runs)
    what = f'mean of seeds {seeds}' if len(runs) > 1 else f'seed {seeds}'
    lines = ['  Results:', f'    # {WRITTEN_BY}: {what}']
    lines += ['    Task: Semantic Segmentation', '    Dataset: CamVid']
    lines += ['    Metrics:']
    for metric in ('mIoU', 'aAcc'):
        mean = sum(r[metric] for r in runs) / len(runs)
        lines.append(f'      {metric}: {round(mean, 2)}')
    return lines


def update_metafile(text: str, runs: Dict[str, List[dict]]) -> str:
    """``text`` of a metafile with the results of ``runs`` (by config).

    An entry whose ``Config`` has runs gets :func:`results_lines` in place
    of its ``Results`` (or after its ``In Collection``); results this
    script wrote for a config without runs are removed; other lines stay.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith('- Name:')]
    models = lines.index('Models:')
    starts = [i for i in starts if i > models] + [len(lines)]
    out = lines[:starts[0]]
    for start, end in zip(starts, starts[1:]):
        entry = lines[start:end]
        config = next((line.split(':', 1)[1].strip()
                       for line in entry if line.startswith('  Config:')),
                      None)
        old = next((i for i, line in enumerate(entry) if line == '  Results:'),
                   None)
        if old is not None:
            stop = old + 1
            while stop < len(entry) and entry[stop].startswith('    '):
                stop += 1
            written = any(WRITTEN_BY in line for line in entry[old:stop])
            if config in runs or written:
                del entry[old:stop]
            else:
                old = None  # results of another source: keep them
        if config in runs:
            at = old if old is not None else next(
                (i + 1 for i, line in enumerate(entry)
                 if line.startswith('  In Collection:')), 1)
            entry[at:at] = results_lines(runs[config])
        out += entry
    return '\n'.join(out) + '\n'


def write_metafiles(records: List[dict], repo: str = REPO) -> List[str]:
    """Rewrite the results of ``configs/*/metafile.yaml`` from ``records``.

    Returns:
        list[str]: The metafiles that changed.
    """
    runs = {}
    for record in records:
        runs.setdefault(record['config'], []).append(record)
    texts = {}
    for path in sorted(
            glob.glob(osp.join(repo, 'configs', '*', 'metafile.yaml'))):
        with open(path) as f:
            texts[path] = f.read()
    listed = set(
        re.findall(r'^  Config: (\S+)$', ''.join(texts.values()), re.M))
    unlisted = sorted(set(runs) - listed)
    if unlisted:
        raise SystemExit(f'{unlisted[0]} has results in the records but no '
                         'entry in its folder\'s metafile.yaml; add one')
    changed = []
    for path, text in texts.items():
        new = update_metafile(text, runs)
        if new != text:
            with open(path, 'w') as f:
                f.write(new)
            changed.append(path)
    return changed


def main():
    args = parse_args()
    if args.command == 'metafiles':
        with open(args.out) as f:
            for path in write_metafiles(json.load(f)):
                print(f'results -> {osp.relpath(path, REPO)}')
        return
    if args.command in ('run', 'test'):
        if args.data_root:
            link_data_root(args.data_root)
        for config in args.configs:
            name = osp.splitext(osp.basename(config))[0]
            for seed in args.seeds:
                work_dir = osp.abspath(
                    osp.join(args.work_root, name, f'seed{seed}'))
                if args.command == 'run':
                    train(config, seed, work_dir, args.cfg_options)
                test(config, work_dir)
    collect(args.work_root, args.out)


if __name__ == '__main__':
    main()
