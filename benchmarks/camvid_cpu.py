"""Train the CamVid CPU recipes and collect their results.

Each run is ``tools/train.py CONFIG --work-dir WORK_ROOT/NAME/seedS`` with
``randomness.seed=S``, timed from start to exit (training and every
validation; nothing else should run on the machine meanwhile). The results
come from the work_dirs, never by hand::

    # train (one run after another) and collect
    python benchmarks/camvid_cpu.py run CONFIG [CONFIG ...] --seeds 0 1
    # collect only: the last validation of every run under WORK_ROOT
    python benchmarks/camvid_cpu.py collect

``collect`` writes ``benchmarks/results/camvid_cpu.json`` (a list of
records with ``config``, ``seed``, ``iters``, ``wall_s``, ``mIoU``,
``aAcc`` and ``per_class``, IoU by class name) and prints a markdown table
for the README. The configs read CamVid from ``data/camvid`` (mmseg's
layout); ``--data-root`` links another folder there.
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

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUN_FILE = 'benchmark_run.json'  # written beside the logs of each run
# a row of mmseg's per-class table: | class | IoU | Acc |
TABLE_ROW = re.compile(r'^\|\s*(\S[^|]*?)\s*'
                       r'\|\s*([\d.]+|nan)\s*\|\s*([\d.]+|nan)\s*\|$')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    run = sub.add_parser('run', help='train configs, then collect')
    run.add_argument('configs', nargs='+')
    run.add_argument('--seeds', nargs='+', type=int, default=[0])
    run.add_argument(
        '--data-root',
        help='CamVid folder (SegNet layout) to link as data/camvid')
    run.add_argument('--cfg-options', nargs='+', default=[])
    for p in (run, sub.add_parser('collect', help='collect results only')):
        p.add_argument('--work-root', default='work_dirs/camvid_cpu')
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
    with open(osp.join(work_dir, RUN_FILE), 'w') as f:
        json.dump(dict(config=config, seed=seed, wall_s=round(wall_s, 1)), f)


def last_log(work_dir: str) -> str:
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    if not logs:
        raise FileNotFoundError(f'no training log under {work_dir}')
    return logs[-1]


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
    return dict(
        config=record['config'],
        seed=record['seed'],
        iters=iters,
        wall_s=record['wall_s'],
        mIoU=val['mIoU'],
        aAcc=val['aAcc'],
        per_class=per_class_iou(log_file))


def collect(work_root: str, out: str) -> list:
    runs = sorted(
        osp.dirname(p)
        for p in glob.glob(osp.join(work_root, '*', '*', RUN_FILE)))
    records = [collect_run(run) for run in runs]
    os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(records, f, indent=1)
        f.write('\n')
    print(f'{len(records)} runs -> {out}\n')
    print('| config | seed | iters | wall | val mIoU | aAcc |')
    print('|---|---|---|---|---|---|')
    for r in records:
        print(f"| `{osp.basename(r['config'])}` | {r['seed']} | {r['iters']}"
              f" | {r['wall_s'] / 60:.1f} min | {r['mIoU']:.2f}"
              f" | {r['aAcc']:.2f} |")
    for config in sorted({r['config'] for r in records}):
        runs = [r for r in records if r['config'] == config]
        print(f'\n`{osp.basename(config)}`, IoU per class:\n')
        print('| class | ' + ' | '.join(f"seed {r['seed']}"
                                        for r in runs) + ' |')
        print('|---|' + '---|' * len(runs))
        for name in runs[0]['per_class']:
            print(f'| {name} | ' + ' | '.join(f"{r['per_class'][name]:.2f}"
                                              for r in runs) + ' |')
    return records


def main():
    args = parse_args()
    if args.command == 'run':
        if args.data_root:
            link_data_root(args.data_root)
        for config in args.configs:
            name = osp.splitext(osp.basename(config))[0]
            for seed in args.seeds:
                work_dir = osp.join(args.work_root, name, f'seed{seed}')
                train(config, seed, osp.abspath(work_dir), args.cfg_options)
    collect(args.work_root, args.out)


if __name__ == '__main__':
    main()
