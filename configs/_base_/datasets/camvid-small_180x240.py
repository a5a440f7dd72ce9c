# CamVid at 240x180, all of the embedded copy: the 367 train / 101 val images
# of data/camvid_mini (train_all.txt / val_all.txt), with the CPU recipes'
# augmentation (camvid_cpu.py) at this size: random scale 0.75-1.5, crops of
# 176x240 that no class fills beyond 75%, flips, photometric distortion,
# batch 8. Whole images are evaluated at 240x180, the embedded labels' size.
_base_ = './camvid-mini_180x240.py'
crop_size = (176, 240)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
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
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(ann_file='train_all.txt', pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(ann_file='val_all.txt'))
test_dataloader = val_dataloader
