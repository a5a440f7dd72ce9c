# CamVid at 240x180 for CPU runs: the embedded copy data/camvid_mini (all
# 367 train / 101 val images at 240x180, JPEG images and PNG labels), of which
# train.txt / val.txt list 60 / 24 for quick runs and tests (train_all.txt /
# val_all.txt list all: camvid-small_180x240.py). The pipelines bring any
# CamVid image to 240x180, so pointing data_root at full CamVid (480x360, PNG:
# also set each dataset's img_suffix='.png') trains and evaluates on its
# 367 / 101 images at that size.
_base_ = './camvid.py'
data_root = 'data/camvid_mini'
crop_size = (180, 240)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(240, 180),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', _scope_='mmseg_ext'),
    dict(type='Resize', scale=(240, 180), keep_ratio=True),
    dict(type='LoadAnnotations', _scope_='mmseg_ext'),
    dict(type='PackSegInputs')
]
# test-time augmentation (tools/test.py --tta) around 240x180, as in
# camvid.py
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(int(240 * r), int(180 * r)),
                    keep_ratio=True) for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='CheckedLoadAnnotations')],
            [dict(type='PackSegInputs')]
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        data_root=data_root, img_suffix='.jpg', pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root, img_suffix='.jpg', pipeline=test_pipeline))
test_dataloader = val_dataloader
