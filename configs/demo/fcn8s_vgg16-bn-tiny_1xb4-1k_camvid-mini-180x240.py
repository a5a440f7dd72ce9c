# CPU demo: a narrow VGG16-BN FCN-8s trained from scratch on the embedded
# CamVid subset (60 train / 24 val images at 240x180), a few minutes on CPU.
_base_ = '../fcn/fcn8s_vgg16_1xb8-20k_camvid-360x480.py'
data_root = 'data/camvid_mini'
crop_size = (180, 240)
max_iters = 1000
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        norm_cfg=dict(type='BN'),
        stage_channels=(16, 32, 64, 128, 128),
        fc_channels=256,
        fc6_kernel=3,
        fc_dropout=0.1),
    decode_head=dict(in_channels=[64, 128, 256]))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optimizer = dict(type='AdamW', lr=2e-3, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, _delete_=True)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=1e-5, by_epoch=False, end=max_iters)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=max_iters // 2, max_keep_ckpts=2))
# fixed seed: a re-run of `make demo` on the CPU lands on the README's numbers
randomness = dict(seed=0)
