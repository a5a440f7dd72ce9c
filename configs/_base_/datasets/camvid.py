# CamVid, SegNet's version: 367 train / 101 val images of 480x360
dataset_type = 'CamVidDataset'
# data/camvid as mmseg lays data out; CAMVID_ROOT=/path/to/camvid overrides it
data_root = '{{$CAMVID_ROOT:data/camvid}}'
crop_size = (360, 480)
# Checked loaders (mmseg_ext.datasets.transforms): a corrupt image or a bad
# label file is one error naming the file. The test pipeline keeps mmseg's
# step names, which MMSegInferencer and inference_model look for, and takes
# the checked loaders from this package's registry scope (_scope_).
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
test_pipeline = [
    dict(type='LoadImageFromFile', _scope_='mmseg_ext'),
    dict(type='Resize', scale=(480, 360), keep_ratio=True),
    dict(type='LoadAnnotations', _scope_='mmseg_ext'),
    dict(type='PackSegInputs')
]
# test-time augmentation (tools/test.py --tta): the test scale times each
# ratio, each also flipped; SegTTAModel (mmseg's tta_model) averages the
# softmax of the 12 predictions
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(
                    type='Resize',
                    scale=(int(480 * r), int(360 * r)),
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
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        ann_file='train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val', seg_map_path='valannot'),
        ann_file='val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# SegNet's median-frequency class balancing (the weights listed in the data
# README; this is their one place in the package), for heads that use it:
#   decode_head=dict(loss_decode={{_base_.balanced_loss}})
# reduction='none': the model averages the weighted per-pixel losses over the
# pixels; mmseg 1.2.2's 'mean' reduction fails on ignored (255) pixels when
# class weights are given
balanced_loss = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.0,
    class_weight=[
        0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823,
        6.2478, 7.3614
    ],
    reduction='none')
# The square root of SegNet's median-frequency weights, for the CPU recipes:
# full weights (up to 68x between classes) make a model trained for minutes
# paint the rarest classes over common ones (configs/segnet/README.md, class
# balancing)
sqrt_balanced_loss = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.0,
    class_weight=[
        0.5094, 0.4273, 2.1364, 0.3764, 0.9514, 0.6185, 3.1056, 1.3571, 0.826,
        2.4996, 2.7132
    ],
    reduction='none')
