# A narrow VGG16-BN FCN-8s from scratch on the quick split of the embedded
# CamVid copy (data/camvid_mini: train.txt / val.txt, 60 / 24 images at
# 240x180), 1000 iterations of batch 4, about five minutes on 2 CPU cores.
# `make demo` trained it until the demo moved to all embedded images
# (../demo/; this one scored 42.95 mIoU on the 24 val images, then PNG); the
# tests use it as their small real model.
_base_ = [
    '../_base_/models/fcn8s_vgg16.py',
    '../_base_/datasets/camvid-mini_180x240.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_1k_adamw.py'
]
data_preprocessor = dict(size={{_base_.crop_size}})
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        norm_cfg=dict(type='BN'),
        stage_channels=(16, 32, 64, 128, 128),
        fc_channels=256,
        fc6_kernel=3,
        fc_dropout=0.1),
    decode_head=dict(in_channels=[64, 128, 256], num_classes=11))
# fixed seed: a re-run on the CPU lands on the same numbers
randomness = dict(seed=0)
