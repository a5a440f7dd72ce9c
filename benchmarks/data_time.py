"""The data pipeline's share of the training step, from the runs' own logs.

Reads every ``WORK_ROOT/<config>/seed<S>/<timestamp>/vis_data/scalars.json``
(what ``benchmarks/camvid_cpu.py run`` leaves) and, from its training
records (those with ``iter``), the runner's ``data_time`` (waiting for the
next batch) and ``time`` (the whole iteration, data included), both already
averaged by MMEngine over each logging window. Each window is weighted by
its number of iterations, so the share is total data time over total step
time. Validation records are left out. A share above ``--threshold``
(10%) is flagged::

    python benchmarks/data_time.py [--work-root work_dirs/camvid_cpu]
        [--out benchmarks/results/data_time.md]
"""
import argparse
import glob
import json
import os.path as osp
from typing import List, Optional

THRESHOLD = 0.10


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--work-root',
        default='work_dirs/camvid_cpu',
        help='folder of the runs (default: work_dirs/camvid_cpu)')
    parser.add_argument(
        '--threshold',
        type=float,
        default=THRESHOLD,
        help='flag runs whose data share exceeds this (default: 0.10)')
    parser.add_argument('--out', help='also write the report (markdown)')
    return parser.parse_args(argv)


def data_share(path: str) -> Optional[dict]:
    """Data time, step time and their ratio over a run's training records.

    Returns:
        dict | None: ``iters`` (iterations covered), ``data_time`` and
        ``time`` (mean seconds per iteration) and ``share``; None if the
        file has no training record with both times.
    """
    data = step = 0.
    iters, last = 0, 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise SystemExit(f'{path}:{number}: not a JSON line') from None
            if 'iter' not in record or not {'data_time', 'time'
                                            } <= set(record):
                continue  # validation, or another logger's record
            window = record['iter'] - last if record['iter'] > last else 1
            last = record['iter']
            data += window * float(record['data_time'])
            step += window * float(record['time'])
            iters += window
    if not iters or step <= 0:
        return None
    return dict(
        iters=iters,
        data_time=data / iters,
        time=step / iters,
        share=data / step)


def collect(work_root: str) -> List[dict]:
    """One row per ``scalars.json`` under ``work_root``."""
    pattern = osp.join(work_root, '*', 'seed*', '*', 'vis_data',
                       'scalars.json')
    rows = []
    for path in sorted(glob.glob(pattern)):
        parts = path.split(osp.sep)
        row = data_share(path)
        if row is not None:
            row.update(config=parts[-5], seed=parts[-4], run=parts[-3])
            rows.append(row)
    return rows


def report(rows: List[dict], threshold: float = THRESHOLD) -> str:
    """A markdown table, then one line per run above ``threshold``."""
    lines = [
        '| config | seed | run | iters | data_time s | step time s | '
        'data share |', '|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        flag = ' **> {:.0%}**'.format(threshold) \
            if r['share'] > threshold else ''
        lines.append(f'| {r["config"]} | {r["seed"]} | {r["run"]} | '
                     f'{r["iters"]} | {r["data_time"]:.3f} | '
                     f'{r["time"]:.3f} | {r["share"]:.1%}{flag} |')
    high = [r for r in rows if r['share'] > threshold]
    lines.append('')
    for r in high:
        lines.append(f'{r["config"]} ({r["seed"]}, {r["run"]}): the data '
                     f'pipeline takes {r["share"]:.1%} of the training '
                     f'step, more than {threshold:.0%}')
    if not high:
        lines.append(f'The data pipeline takes at most {threshold:.0%} of '
                     'the training step in every run.')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    rows = collect(args.work_root)
    if not rows:
        raise SystemExit(f'no training logs (<config>/seed<S>/<timestamp>/'
                         f'vis_data/scalars.json) under {args.work_root}')
    text = report(rows, args.threshold)
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return rows


if __name__ == '__main__':
    main()
