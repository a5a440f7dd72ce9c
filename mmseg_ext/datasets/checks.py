"""Check a config's data sets before the runner builds its loaders."""
import os.path as osp
from typing import Iterable

from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from ..engine.errors import DataError


def check_datasets(cfg: Config, loaders: Iterable[str]) -> None:
    """Fail early, naming the option, when a split cannot be loaded.

    A missing ``data_root`` otherwise surfaces as a ``FileNotFoundError``
    deep inside the runner, and an empty split fails while the data set is
    built with numpy's "need at least one array to concatenate" or, with
    ``serialize_data=False``, the ``InfiniteSampler`` of an empty training
    set loops forever without yielding. Each data set's sample list is
    loaded once more to count it (for CamVid a list of file names).

    Args:
        cfg (Config): The full config.
        loaders (Iterable[str]): Dataloader keys to check, e.g.
            ``['train_dataloader', 'val_dataloader']``; absent or ``None``
            ones are skipped.

    Raises:
        DataError: A ``data_root``, ``ann_file`` or image folder does not
            exist, a split has no samples, or a data set that does not skip
            blank lines of its ``ann_file`` (mmseg's) would read one as an
            image name.

    Note:
        Without the ``ann_file`` it names, mmseg's ``BaseSegDataset``
        quietly lists every image of the folder; here that is an error.
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    for key in loaders:
        loader = cfg.get(key)
        if not loader or 'dataset' not in loader:
            continue
        _check_dataset(loader['dataset'], f'{key}.dataset')


def _check_dataset(dataset: ConfigDict, option: str) -> None:
    if 'datasets' in dataset:  # ConcatDataset and the like
        for i, child in enumerate(dataset['datasets']):
            _check_dataset(child, f'{option}.datasets[{i}]')
        return
    if 'dataset' in dataset:  # RepeatDataset, ClassBalancedDataset
        _check_dataset(dataset['dataset'], f'{option}.dataset')
        return
    root = dataset.get('data_root')
    if root and '://' not in root and not osp.isdir(root):
        raise DataError(
            f'{option}.data_root: folder {root!r} does not exist (relative '
            f'paths start at {osp.abspath(".")}); download the data set '
            f'there or set --cfg-options {option}.data_root=PATH')
    built = DATASETS.build(dict(dataset, lazy_init=True))
    ann_file = getattr(built, 'ann_file', '')
    if dataset.get(
            'ann_file') and '://' not in ann_file and not osp.isfile(ann_file):
        # mmseg would quietly list every image of the folder instead
        raise DataError(f'{option}.ann_file: {ann_file!r} does not exist')
    try:
        data_list = built.load_data_list()
    except FileNotFoundError as e:
        raise DataError(f'{option}: {_missing(e)} does not exist') from None
    num_samples = len(data_list)
    suffix = getattr(built, 'img_suffix', None)
    if suffix and any(
            osp.basename(info.get('img_path') or '') == suffix
            for info in data_list):
        raise DataError(f'{option}.ann_file: line {_blank_line(ann_file)} '
                        f'of {ann_file} is blank; remove it (it names no '
                        'image)')
    if num_samples == 0:
        prefix = dict(dataset.get('data_prefix') or {})
        raise DataError(f'{option} is empty: no samples in ann_file='
                        f'{dataset.get("ann_file")!r}, data_prefix={prefix}, '
                        f'data_root={root!r} (img_suffix '
                        f'{getattr(built, "img_suffix", "?")!r})')


def _missing(error: FileNotFoundError) -> str:
    """The file a ``FileNotFoundError`` is about."""
    if error.filename:
        return repr(error.filename)
    return str(error).split(': ')[-1]


def _blank_line(ann_file: str) -> str:
    """Number of the first blank line of a split file."""
    try:
        with open(ann_file) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    return str(number)
    except OSError:
        pass
    return '?'
