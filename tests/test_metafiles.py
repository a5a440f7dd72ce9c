"""The model index that mim reads: model-index.yml -> configs/*/metafile.yaml.

Every leaf config of an algorithm folder is listed once, its metadata is
the config's own, and a result appears only where
benchmarks/results/camvid_cpu.json records a run of that config: the mean
over its runs, as ``benchmarks/camvid_cpu.py`` writes it.
"""
import glob
import importlib.util
import json
import os
import os.path as osp
import re

import pytest
import yaml

from .conftest import REPO, load_config

# configs/demo holds `make demo`'s config, not an algorithm
FOLDERS = sorted(
    osp.basename(osp.dirname(p))
    for p in glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yaml')))
RESULTS = osp.join(REPO, 'benchmarks', 'results', 'camvid_cpu.json')
#: Training Data -> (type of the training set, its data_root or None)
TRAINING_DATA = {
    'CamVid': ('CamVidDataset', None),
    'CamVid mini': ('CamVidDataset', 'data/camvid_mini'),
    'Pascal VOC 2012 + Aug': ('PascalVOCDataset', 'data/VOCdevkit/VOC2012'),
    'COCO-VOC': ('PascalVOCDataset', 'data/coco_voc'),
    'COCO-Stuff 164k': ('COCOStuffDataset', 'data/coco_stuff164k'),
    'COCO-Stuff 10k': ('COCOStuffDataset', 'data/coco_stuff10k'),
}


def _load(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def _models():
    return [(folder, model) for folder in FOLDERS
            for model in _load(f'configs/{folder}/metafile.yaml')['Models']]


def test_model_index_imports_every_metafile():
    assert FOLDERS, 'no configs/*/metafile.yaml'
    folders = {
        osp.basename(p)
        for p in glob.glob(osp.join(REPO, 'configs', '*'))
        if osp.isdir(p) and glob.glob(osp.join(p, '*.py'))
    } - {'_base_', 'demo'}
    assert set(FOLDERS) == folders
    assert _load('model-index.yml')['Import'] == [
        f'configs/{folder}/metafile.yaml' for folder in FOLDERS
    ]


@pytest.mark.parametrize('folder', FOLDERS)
def test_metafile_lists_the_folders_configs(folder):
    meta = _load(f'configs/{folder}/metafile.yaml')
    collections = {c['Name']: c for c in meta['Collections']}
    for collection in collections.values():
        assert collection['Paper']['Title'] and collection['Paper']['URL']
        for path in (collection['README'], collection['Code']['URL']):
            assert osp.isfile(osp.join(REPO, path)), path
    configs = sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', folder, '*.py')))
    listed = sorted(model['Config'] for model in meta['Models'])
    assert listed == configs
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


@pytest.mark.parametrize(
    'folder, model',
    _models(),
    ids=lambda x: x if isinstance(x, str) else x['Name'])
def test_metadata_is_the_configs(folder, model):
    cfg = load_config(osp.join(REPO, model['Config']))
    meta = model['Metadata']
    gpus = int(re.search(r'_(\d+)xb\d+-', model['Name']).group(1))
    assert meta['Batch Size'] == gpus * cfg.train_dataloader.batch_size
    assert meta['Lr schd'] == cfg.train_cfg.max_iters
    assert tuple(meta['Crop Size']) == tuple(cfg.crop_size)
    dataset = cfg.train_dataloader.dataset
    while 'dataset' in dataset or 'datasets' in dataset:  # wrappers
        dataset = dataset.get('dataset') or dataset.datasets[0]
    data_type, data_root = TRAINING_DATA[meta['Training Data']]
    assert dataset.type == data_type
    if data_root is not None:
        assert dataset.data_root == data_root
    elif data_type == 'CamVidDataset':
        assert 'camvid_mini' not in dataset.data_root
    collection, = (
        c for c in _load(f'configs/{folder}/metafile.yaml')['Collections']
        if c['Name'] == model['In Collection'])
    assert meta['Training Data'] in collection['Metadata']['Training Data']


def _records():
    with open(RESULTS) as f:
        records = json.load(f)
    runs = {}
    for record in records:
        runs.setdefault(record['config'], []).append(record)
    return runs


def _script():
    path = osp.join(REPO, 'benchmarks', 'camvid_cpu.py')
    spec = importlib.util.spec_from_file_location('camvid_cpu', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mean(runs, metric):
    return round(sum(r[metric] for r in runs) / len(runs), 2)


def test_results_are_the_recorded_runs():
    runs = _records()
    listed = {}
    for _, model in _models():
        if 'Results' in model:
            listed[model['Config']] = model['Results']
    # every recorded config has its result in the index, and nothing else
    assert sorted(listed) == sorted(runs)
    for config, results in listed.items():
        assert results['Task'] == 'Semantic Segmentation'
        assert results['Dataset'] == 'CamVid'
        for metric in ('mIoU', 'aAcc'):
            assert results['Metrics'][metric] == _mean(runs[config],
                                                       metric), config


@pytest.mark.parametrize('folder', FOLDERS)
def test_results_are_as_the_script_writes_them(folder):
    path = osp.join(REPO, 'configs', folder, 'metafile.yaml')
    with open(path) as f:
        text = f.read()
    written = _script().update_metafile(text, _records())
    assert written == text, (f'{path} differs from the records: run '
                             'python benchmarks/camvid_cpu.py metafiles')


METAFILE = """\
# header
Collections:
- Name: Net
Models:
- Name: a
  In Collection: Net
  Config: configs/net/a.py
- Name: b
  In Collection: Net
  # a note on b
  Results:
    Task: Semantic Segmentation
    Dataset: Cityscapes
    Metrics:
      mIoU: 70.0
  Config: configs/net/b.py
"""


def test_script_writes_any_number_of_runs(tmp_path):
    script = _script()
    os.makedirs(tmp_path / 'configs' / 'net')
    path = tmp_path / 'configs' / 'net' / 'metafile.yaml'
    path.write_text(METAFILE)
    runs = [
        dict(config='configs/net/a.py', seed=s, mIoU=m, aAcc=a)
        for s, m, a in ((0, 50.004, 80.0), (1, 52.0, 81.0), (2, 60.0, 90.5))
    ]
    for n in (1, 3):
        assert script.write_metafiles(runs[:n], str(tmp_path)) == [str(path)]
        meta = yaml.safe_load(path.read_text())
        a, b = meta['Models']
        assert a['Results']['Dataset'] == 'CamVid'
        assert a['Results']['Metrics'] == {
            'mIoU': _mean(runs[:n], 'mIoU'),
            'aAcc': _mean(runs[:n], 'aAcc')
        }
        assert b['Results']['Metrics'] == {'mIoU': 70.0}  # not its own
        assert script.write_metafiles(runs[:n], str(tmp_path)) == []
    text = path.read_text()
    assert '# written by benchmarks/camvid_cpu.py: mean of seeds 0, 1, 2\n' \
        in text
    assert text.index('In Collection: Net\n  Results:') < text.index('a.py')
    assert text.endswith(METAFILE[METAFILE.index('- Name: b'):])
    # results of a config whose records are gone are removed
    script.write_metafiles([], str(tmp_path))
    assert path.read_text() == METAFILE
    with pytest.raises(SystemExit, match='configs/net/c.py has results'):
        script.write_metafiles([dict(runs[0], config='configs/net/c.py')],
                               str(tmp_path))
