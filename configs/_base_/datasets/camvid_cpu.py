# CamVid for the 2-core CPU recipes: train on random crops of the full
# 480x360 images (random scale, flip, photometric distortion), evaluate whole
# images at 480x360, the labels' size. Data in data/camvid (mmseg's layout;
# link your copy there, see README).
# Loading on a 2-core machine: the decoded images and labels are kept in
# memory (cache_mb; CamVid's 367 train images take about 250 MB) and loaded
# in the training process (num_workers=0). Data loader workers would share
# the two cores with the training step: with two of them, decoding every
# PNG each epoch, a step of the half-resolution SegNet recipe took 0.243 s
# against 0.175 s over the same batches preloaded, 1.21-1.41x in the recipes
# measured; with the cache and no workers, 0.194 s against 0.193 s
# (benchmarks/data_share.py, benchmarks/results/data_share.md).
_base_ = './camvid.py'
crop_size = (192, 256)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile', cache_mb=512),
    dict(type='CheckedLoadAnnotations', cache_mb=128),
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
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader
