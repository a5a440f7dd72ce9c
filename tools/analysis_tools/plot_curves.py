"""Plot training curves (loss, mIoU, ... against the iteration) as a PNG.

Reads what MMEngine's ``LocalVisBackend`` writes into a run's work_dir,
``WORK_DIR/<timestamp>/vis_data/scalars.json``: every run in that folder
(a resumed run continues the curves; its records replace those of the same
iterations), skipping test-only runs. Several work_dirs are drawn as one
line each, to compare recipes::

    python tools/analysis_tools/plot_curves.py work_dirs/segnet \\
        --out-file curves.png
    python tools/analysis_tools/plot_curves.py work_dirs/a work_dirs/b \\
        --keys loss mIoU mAcc --smooth 20 --out-file compare.png

Only matplotlib is needed (mmseg's ``analyze_logs.py`` needs seaborn).
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot loss and metrics against the iteration')
    parser.add_argument(
        'work_dirs',
        nargs='+',
        help='work_dir(s) of training runs, or scalars.json file(s)')
    parser.add_argument(
        '--out-file', default='curves.png', help='PNG file to write')
    parser.add_argument(
        '--keys',
        nargs='+',
        default=['loss', 'mIoU'],
        help='scalars to plot, one panel each')
    parser.add_argument(
        '--smooth',
        type=int,
        default=1,
        help='moving-average window (records) for training scalars')
    parser.add_argument('--title', help='figure title')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='legend names, one per work_dir (default: folder names)')
    args = parser.parse_args(argv)
    if args.smooth < 1:
        parser.error('--smooth must be >= 1')
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'--labels needs one name per work_dir '
                     f'({len(args.work_dirs)}), got {len(args.labels)}')
    return args


def scalar_files(work_dir: str) -> List[str]:
    """The ``scalars.json`` files of a work_dir, oldest run first."""
    if osp.isfile(work_dir):
        return [work_dir]
    files = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    files += glob.glob(osp.join(work_dir, 'vis_data', 'scalars.json'))
    return sorted(files)  # run folders are named by their start time


def load_curves(work_dir: str) -> Dict[str, Dict[int, float]]:
    """``{key: {step: value}}`` over the training runs of a work_dir.

    Raises:
        SystemExit: If the work_dir holds no training record.
    """
    curves: Dict[str, Dict[int, float]] = {}
    for path in scalar_files(work_dir):
        with open(path, encoding='utf-8') as f:
            records = [json.loads(line) for line in f if line.strip()]
        if not any('loss' in r for r in records):
            continue  # a test run
        for record in records:
            step = record.get('step', record.get('iter'))
            if step is None:
                continue
            for key, value in record.items():
                if isinstance(value,
                              (int, float)) and key not in ('step', 'iter'):
                    curves.setdefault(key, {})[int(step)] = float(value)
    if not curves:
        raise SystemExit(f'{work_dir}: no training run found (no '
                         '<timestamp>/vis_data/scalars.json with a loss)')
    return curves


def moving_average(values: List[float], window: int) -> List[float]:
    """Mean of each value and up to ``window - 1`` values before it."""
    out, total = [], 0.
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(runs: Dict[str, Dict[str, Dict[int, float]]],
         keys: List[str],
         out_file: str,
         smooth: int = 1,
         title: str = None) -> None:
    """Draw one panel per key, one line per run, and save ``out_file``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, curves in runs.items():
            points = sorted(curves.get(key, {}).items())
            if not points:
                continue
            steps = [s for s, _ in points]
            values = [v for _, v in points]
            if smooth > 1 and len(points) > smooth:
                values = moving_average(values, smooth)
            ax.plot(
                steps,
                values,
                marker='o' if len(points) < 30 else None,
                label=name)
        ax.set_xlabel('iteration')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize='small')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    runs = {}
    for i, work_dir in enumerate(args.work_dirs):
        name = (
            args.labels[i] if args.labels else osp.basename(
                osp.normpath(work_dir)))
        runs[name if name not in runs else work_dir] = load_curves(work_dir)
    missing = [k for k in args.keys if not any(k in c for c in runs.values())]
    if missing:
        found = sorted({k for c in runs.values() for k in c})
        raise SystemExit(f'--keys {missing} not recorded; recorded: {found}')
    plot(runs, args.keys, args.out_file, args.smooth, args.title)
    for name, curves in runs.items():
        last = {k: curves[k][max(curves[k])] for k in args.keys if k in curves}
        text = ', '.join(f'{k} {v:.4g}' for k, v in last.items())
        print(f'{name}: last {text}')
    print(f'saved {args.out_file}')


if __name__ == '__main__':
    main()
