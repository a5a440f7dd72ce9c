# COCO images with the 20 PASCAL VOC classes for training (made by
# tools/dataset_converters/coco_voc.py, see docs/datasets.md), PASCAL VOC
# 2012 val for validation and test, with mmseg's VOC pipelines and
# PascalVOCDataset (0 background, 1-20 classes, 255 ignore). The Checked*
# loaders are registered by `import mmseg_ext`, which this package's model
# bases request (custom_imports).
_base_ = 'mmseg::_base_/datasets/pascal_voc12.py'
dataset_type = 'PascalVOCDataset'
data_root = 'data/coco_voc'
crop_size = (512, 512)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [  # mmseg's step names for the inferencer, checked loaders
    dict(type='LoadImageFromFile', _scope_='mmseg_ext'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', _scope_='mmseg_ext'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/train2017', seg_map_path='annotations/train2017'),
        ann_file='train2017.txt',
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
