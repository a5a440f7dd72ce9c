# CPU recipe: a narrow VGG16-BN DeepLab-LargeFOV trained from scratch at
# 240x180 on the embedded CamVid subset (60 train / 24 val images); pointing
# data_root at full CamVid trains and evaluates on its 367 / 101 images,
# predicting at the original 480x360 (benchmarks/crf_camvid.md).
_base_ = [
    '../_base_/models/deeplabv1-largefov_vgg16.py',
    '../_base_/datasets/camvid-mini_180x240.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_1k_adamw.py'
]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(
        norm_cfg=dict(type='BN'),
        stage_channels=(16, 32, 64, 128, 128),
        fc_channels=256,
        fc_dropout=0.1),
    decode_head=dict(in_channels=256, channels=256, num_classes=11))
train_dataloader = dict(batch_size=8)
