"""benchmarks/speed.py, data_time.py, data_share.py and step_time.py, at
tiny widths.

Nothing here is timed or asserts a speed: these are the fidelity checks the
benchmark relies on (the plain references compute what our models compute,
in inference and in a training step) and end-to-end runs of the scripts.
"""
import ast
import importlib.util
import json
import os
import os.path as osp

import pytest
import torch

from .conftest import REPO

WIDTHS, FC = (4, 8, 8, 16, 16), 12
SIZE = (45, 61)  # odd at every stride: ceil-mode pooling and crops matter


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f'_test_{name}', osp.join(REPO, 'benchmarks', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


speed = _load('speed')
data_time = _load('data_time')
step_time = _load('step_time')
data_share = _load('data_share')
camvid_cpu = _load('camvid_cpu')
FAMILIES = sorted(speed.FAMILIES)


def _pair(family, size=SIZE, **backbone):
    """Ours (random weights) and the plain reference with them copied."""
    cfg = speed.load_cfg(family, size, WIDTHS, FC)
    cfg.model.backbone.update(backbone)
    con = speed.Contenders(family, cfg, size)
    speed.randomize_(con.ours, seed=1)
    speed.copy_weights(con.ours, con.plain, con.inputs)
    return con


def test_plain_models_use_torch_only():
    path = osp.join(REPO, 'benchmarks', 'plain_models.py')
    with open(path) as f:
        tree = ast.parse(f.read())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split('.')[0])
    assert roots == {'torch', 'typing'}


@pytest.mark.parametrize('family', FAMILIES)
def test_plain_reference_matches(family):
    con = _pair(family)
    check = speed.compare_logits(con.ours, con.plain, con.inputs)
    assert check['ok'], check
    # every layer matters: the logits are far from a constant map
    with torch.no_grad():
        logits = con.plain(con.inputs)
    assert logits.std() > 1e-2 * logits.abs().max()
    labels = con.infer_ours()[0].pred_sem_seg.data[0]
    assert labels.shape == SIZE
    assert torch.equal(labels, con.infer_plain()[0])


@pytest.mark.parametrize('family', FAMILIES)
def test_plain_training_step_matches(family):
    """One SGD step of each gives the same loss and the same weights
    (dropout off, as it draws random masks)."""
    con = _pair(family, fc_dropout=0.)
    con.setup_training()
    loss_ours, loss_plain = con.train_ours(), con.train_plain()
    assert loss_ours == pytest.approx(loss_plain, rel=1e-5)
    before = con.plain.state_dict()
    speed.copy_weights(con.ours, con.plain, con.inputs)  # ours -> plain
    for name, tensor in con.plain.state_dict().items():
        torch.testing.assert_close(
            tensor, before[name], rtol=1e-4, atol=1e-6, msg=name)


def test_fidelity_check_fails_on_a_different_layer():
    # a padding that differs: the layer check names the layer
    con = _pair('dilatednet')
    con.plain.context[0].padding = (2, 2)  # a 3x3 conv keeping the size
    with pytest.raises(ValueError, match='layer .* differs'):
        speed.copy_weights(con.ours, con.plain, con.inputs)
    # a pooling that differs (no weights): the logits tell
    con = _pair('segnet')
    con.plain.pool.ceil_mode = False
    assert not speed.compare_logits(con.ours, con.plain, con.inputs)['ok']
    # a missing layer
    con = _pair('unet')
    con.plain.decoder[0] = con.plain.decoder[0][:3]
    with pytest.raises(ValueError, match='conv/BN layers'):
        speed.copy_weights(con.ours, con.plain, con.inputs)


def test_randomize_changes_every_layer():
    cfg = speed.load_cfg('fcn8s', SIZE, WIDTHS, FC)
    model = speed.build_ours(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    speed.randomize_(model)
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point():
            assert not torch.equal(tensor, before[name]), name


def test_fast_option_needs_support(tmp_path):
    cfg = speed.load_cfg('segnet', SIZE)
    argv = [
        '--families', 'segnet', '--rounds', '1', '--size', '45', '61',
        '--widths', *map(str, WIDTHS), '--threads', '1', '--no-memory',
        '--no-onnx', '--no-train', '--fast', '--compile', '--out',
        str(tmp_path / 'speed')
    ]
    if not speed.fast_supported(cfg, compile=True):
        with pytest.raises(SystemExit, match='test_cfg.fast'):
            speed.main(argv)
        return
    result = speed.main(argv)
    family = result['families'][0]
    assert family['fidelity_fast']['ok']
    assert family['fidelity_compiled']['compile_s'] > 0
    assert {'ours_fast', 'ours_compiled'} <= set(family['infer'])
    table = (tmp_path / 'speed.md').read_text()
    assert '| compiled ms | compiled/plain | compile s |' in table
    assert 'Training step' not in table and not family['train']


@pytest.mark.slow
def test_speed_main_end_to_end(tmp_path):
    out = tmp_path / 'results' / 'speed'
    result = speed.main([
        '--families', 'segnet', '--rounds', '1', '--size', '45', '61',
        '--widths', *map(str, WIDTHS), '--fc-channels',
        str(FC), '--threads', '1', '--out',
        str(out)
    ])
    with open(f'{out}.json') as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(result))
    assert saved['machine']['threads'] == 1
    assert saved['settings']['size'] == [45, 61]
    assert saved['gemm_gflops'] > 0
    (family, ) = saved['families']
    assert family['family'] == 'segnet'
    assert family['fidelity']['ok']
    assert family['fidelity']['label_mismatch'] == 0
    assert family['gflop_per_image'] > 0
    assert family['conv_gflop_ours'] == family['conv_gflop_plain'] > 0
    # mmengine's count adds BN, pooling and the like to the convolutions
    assert 1 <= family['gflop_per_image'] / family['conv_gflop_ours'] < 1.2
    for task in ('infer', 'train'):
        for variant in ('ours', 'plain'):
            entry = family[task][variant]
            assert len(entry['times_ms']) == 1
            assert entry['min_ms'] == entry['median_ms'] > 0
            memory = family['memory'][task][variant]
            assert memory['peak_mb'] >= memory['delta_mb'] >= 0, memory
    if importlib.util.find_spec('onnxruntime'):
        assert family['onnxruntime']['max_abs_diff'] < 1e-3
        assert family['infer']['onnxruntime']['min_ms'] > 0
    else:
        assert 'skipped' in family['onnxruntime']
    with open(f'{out}.md') as f:
        markdown = f.read()
    assert '| segnet | ' in markdown
    assert 'python benchmarks/speed.py --families segnet' in markdown


def _scalars(root, config, records):
    path = osp.join(root, config, 'seed0', '20250101_000000', 'vis_data')
    os.makedirs(path)
    with open(osp.join(path, 'scalars.json'), 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def test_data_time_report(tmp_path, capsys):
    root = str(tmp_path)
    # windows of 10 iterations: (10 * 0.1 + 10 * 0.3) / (10 + 10) = 20%;
    # the validation record (no `iter`) is left out
    _scalars(root, 'slow_loader', [
        dict(lr=0.01, data_time=0.1, time=1.0, loss=1., iter=10, step=10),
        dict(lr=0.01, data_time=0.3, time=1.0, loss=1., iter=20, step=20),
        dict(mIoU=50., data_time=5.0, time=6.0, step=20),
    ])
    # 10 x 0.02 + 30 x 0.04 over 10 x 1 + 30 x 1: 3.5%
    _scalars(root, 'fast_loader', [
        dict(data_time=0.02, time=1.0, iter=10),
        dict(data_time=0.04, time=1.0, iter=40),
    ])
    rows = {r['config']: r for r in data_time.main(['--work-root', root])}
    assert rows['slow_loader']['share'] == pytest.approx(0.2)
    assert rows['slow_loader']['iters'] == 20
    assert rows['fast_loader']['share'] == pytest.approx(0.035)
    out = capsys.readouterr().out
    assert 'slow_loader (seed0, 20250101_000000): the data pipeline takes ' \
        '20.0% of the training step, more than 10%' in out
    assert 'fast_loader (' not in out
    report = tmp_path / 'report.md'
    data_time.main(
        ['--work-root', root, '--threshold', '0.5', '--out',
         str(report)])
    assert 'at most 50%' in report.read_text()
    with pytest.raises(SystemExit, match='no training logs'):
        data_time.main(['--work-root', str(tmp_path / 'none')])


def test_step_time_times_both_layouts(capsys):
    """benchmarks/step_time.py on the tiny FCN-8s config: one round, one
    step per layout, both reported against NCHW."""
    from .conftest import MINI_CFG
    step_time.main([MINI_CFG, '--rounds', '1', '--steps', '1'])
    out = capsys.readouterr().out
    assert 'batch 4' in out, out
    lines = [line.split() for line in out.splitlines()[1:]]
    assert [line[0] for line in lines] == ['nchw', 'channels_last']
    assert lines[0][-2] == '1.00x'
    assert all(float(line[1]) > 0 for line in lines)


def test_data_share_times_the_runner_and_preloaded_steps(tmp_path):
    """benchmarks/data_share.py on the tiny FCN-8s config, twice in one
    process (each runner with its own visualizer): both times measured."""
    from .conftest import MINI_CFG
    out = tmp_path / 'share.md'
    rows = data_share.main([
        MINI_CFG, MINI_CFG, '--iters', '3', '--measure', '2', '--batches', '1',
        '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', '--out',
        str(out)
    ])
    assert len(rows) == 2
    for row in rows:
        assert row['num_workers'] == 0
        assert row['runner_s'] > 0 and row['preloaded_s'] > 0
        assert row['ratio'] == pytest.approx(row['runner_s'] /
                                             row['preloaded_s'])
    assert out.read_text().count('\n') == 4  # header, rule, two rows
    with pytest.raises(SystemExit):
        data_share.main([MINI_CFG, '--iters', '2', '--measure', '3'])


def test_collect_run_counts_iterations_past_the_last_log(tmp_path):
    """max_iters 1440 logged every 50: the run trained 1440 iterations,
    which the last validation's step says, not the last logged 1400."""
    work_dir = tmp_path / 'seed0'
    run = work_dir / '20260101_000000'
    os.makedirs(run / 'vis_data')
    (work_dir / camvid_cpu.RUN_FILE).write_text(
        json.dumps(dict(config='configs/a.py', seed=0, wall_s=12.5)))
    (run / '20260101_000000.log').write_text(
        'mmengine - INFO - per class results:\n'
        '| Class | IoU | Acc |\n| Sky | 80.5 | 90.0 |\n| Pole | nan | nan |\n')
    lines = [
        dict(iter=1350, loss=1.0),
        dict(iter=1400, loss=0.9),
        dict(aAcc=60.5, mIoU=19.5, step=1440)
    ]
    (run / 'vis_data' /
     'scalars.json').write_text('\n'.join(json.dumps(line)
                                          for line in lines) + '\n')
    record = camvid_cpu.collect_run(str(work_dir))
    assert record['iters'] == 1440
    assert (record['mIoU'], record['aAcc'], record['wall_s']) == (19.5, 60.5,
                                                                  12.5)
    assert record['per_class']['Sky'] == 80.5


def _write_log(folder, sky):
    """A run's (or a test's) log folder under ``folder`` whose per-class
    table has Sky at ``sky`` IoU."""
    os.makedirs(folder / '20260101_000000' / 'vis_data')
    (folder / '20260101_000000' / '20260101_000000.log').write_text(
        'mmengine - INFO - per class results:\n'
        f'| Class | IoU | Acc |\n| Sky | {sky} | 90.0 |\n')
    return folder / '20260101_000000'


def test_collect_run_takes_the_tests_of_the_last_checkpoint(tmp_path):
    """A run tested after training (``camvid_cpu.py test``): its record
    has the plain test's metrics (the config's test settings now) in place
    of the training's last validation, and the TTA test's under ``tta``;
    an unfinished test (no run file) is not taken."""
    work_dir = tmp_path / 'seed1'
    run = _write_log(work_dir, 80.5)
    (work_dir / camvid_cpu.RUN_FILE).write_text(
        json.dumps(dict(config='configs/a.py', seed=1, wall_s=12.5)))
    (run / 'vis_data' / 'scalars.json'
     ).write_text(json.dumps(dict(aAcc=60.5, mIoU=19.5, step=100)) + '\n')
    for name, miou, sky in (('test', 21.0, 81.5), ('tta', 23.0, 83.5)):
        test = _write_log(work_dir / name, sky)
        (test / '20260101_000000.json').write_text(
            json.dumps(dict(aAcc=61.0 + miou, mIoU=miou, mAcc=1.0)))
    record = camvid_cpu.collect_run(str(work_dir))
    assert (record['mIoU'], record['aAcc']) == (19.5, 60.5)
    assert 'tta' not in record  # no test has finished
    for name, test_s in (('test', 9.5), ('tta', 70.0)):
        (work_dir / name / camvid_cpu.RUN_FILE).write_text(
            json.dumps(dict(test_s=test_s)))
    record = camvid_cpu.collect_run(str(work_dir))
    assert (record['mIoU'], record['aAcc'], record['iters']) == (21.0, 82.0,
                                                                 100)
    assert record['per_class'] == {'Sky': 81.5}
    assert record['tta'] == dict(
        mIoU=23.0, aAcc=84.0, per_class={'Sky': 83.5}, test_s=70.0)


def test_collect_keeps_records_of_runs_not_under_the_work_root():
    """A new run replaces its config's and seed's record; the records of
    runs whose work_dirs are gone (another machine) stay; records of
    configs removed from the repository are dropped."""
    keep = 'configs/segnet/segnet_vgg16-bn-w16_1xb8-cpu30m_camvid-360x480.py'
    other = 'configs/fcn/fcn8s_vgg16-bn-w16_1xb8-cpu30m_camvid-360x480.py'
    old = [
        dict(config=keep, seed=0, mIoU=1.0),
        dict(config=keep, seed=1, mIoU=2.0),
        dict(config=other, seed=0, mIoU=3.0),
        dict(config='configs/fcn/removed.py', seed=0, mIoU=4.0)
    ]
    new = [dict(config=keep, seed=1, mIoU=5.0)]
    merged = camvid_cpu.merge_records(old, new)
    assert [(r['config'], r['seed'], r['mIoU'])
            for r in merged] == [(other, 0, 3.0), (keep, 0, 1.0),
                                 (keep, 1, 5.0)]


def test_run_records_its_cfg_options(tmp_path, monkeypatch):
    """A run trained with ``--cfg-options`` keeps them in its record: its
    numbers are not the committed config's."""
    monkeypatch.setattr(camvid_cpu.subprocess, 'run', lambda *a, **k: None)
    work_dir = tmp_path / 'seed0'
    os.makedirs(work_dir)
    camvid_cpu.train('configs/a.py', 0, str(work_dir),
                     ['train_cfg.max_iters=10'])
    run = json.loads((work_dir / camvid_cpu.RUN_FILE).read_text())
    assert run['cfg_options'] == ['train_cfg.max_iters=10']
    (_write_log(work_dir, 80.5) / 'vis_data' / 'scalars.json'
     ).write_text(json.dumps(dict(aAcc=60.5, mIoU=19.5, step=10)) + '\n')
    record = camvid_cpu.collect_run(str(work_dir))
    assert record['cfg_options'] == ['train_cfg.max_iters=10']
    camvid_cpu.train('configs/a.py', 0, str(work_dir), [])
    assert 'cfg_options' not in camvid_cpu.collect_run(str(work_dir))


def test_test_finds_the_checkpoint_of_a_moved_work_dir(tmp_path, monkeypatch):
    """``last_checkpoint`` holds the absolute path mmengine wrote; after the
    work_dir moved, the checkpoint of that name inside it is tested."""
    calls = []

    def run(cmd, **kwargs):  # tools/test.py makes its --work-dir
        calls.append(cmd)
        os.makedirs(cmd[cmd.index('--work-dir') + 1], exist_ok=True)

    monkeypatch.setattr(camvid_cpu.subprocess, 'run', run)
    work_dir = tmp_path / 'moved' / 'seed0'
    os.makedirs(work_dir)
    (work_dir / 'iter_80.pth').write_bytes(b'')
    (work_dir / 'last_checkpoint').write_text(
        str(tmp_path / 'old' / 'seed0' / 'iter_80.pth'))
    camvid_cpu.test('configs/a.py', str(work_dir))
    assert [cmd[3] for cmd in calls] == [str(work_dir / 'iter_80.pth')] * 2
    # a checkpoint that is where last_checkpoint says is used as it is
    calls.clear()
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_80.pth'))
    camvid_cpu.test('configs/a.py', str(work_dir))
    assert [cmd[3] for cmd in calls] == [str(work_dir / 'iter_80.pth')] * 2
