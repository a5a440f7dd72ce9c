# CamVid for the 2-core CPU recipes: train on random crops of the full
# 480x360 images (random scale, flip, photometric distortion), evaluate whole
# images at 480x360, the labels' size. Data in data/camvid (mmseg's layout;
# link your copy there, see README).
_base_ = './camvid.py'
crop_size = (192, 256)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(480, 360),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
# The square root of SegNet's median-frequency weights: full weights (up to
# 68x between classes) make a model trained for minutes paint the rarest
# classes over common ones (configs/segnet/README.md, class balancing)
sqrt_balanced_loss = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.0,
    class_weight=[
        0.5094, 0.4273, 2.1364, 0.3764, 0.9514, 0.6185, 3.1056, 1.3571, 0.826,
        2.4996, 2.7132
    ],
    reduction='none')
