# CamVid for the 2-core CPU recipes, at half resolution: the CPU recipes'
# augmentation (camvid_cpu.py) on the 480x360 images scaled to 240x180 (random
# scale 0.75-1.5, crops of 96x128: the field of view of a 192x256 crop at full
# size, a quarter of the pixels), whole images evaluated at 240x180. The logits
# are resized to the labels' 480x360 before scoring (mmseg's postprocessing),
# so the metric is the full-resolution one.
_base_ = './camvid_cpu.py'
crop_size = (96, 128)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile', cache_mb=512),
    dict(type='CheckedLoadAnnotations', cache_mb=128),
    dict(
        type='RandomResize',
        scale=(240, 180),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
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
# camvid.py: 0.5-1.75x the test scale, each also flipped
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
