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
