# SegNet-Basic, the paper's small model for its decoder analysis: 4 encoder
# stages of one 7x7 conv-BN-ReLU (64 channels) + 2x2 max-pooling, a mirrored
# decoder of one 7x7 conv-BN (no ReLU) after each unpooling, and a 1x1 score
# layer; CamVid 360x480 with median-frequency class balancing. The encoder is
# the VGG backbone built from `stage_convs` and `kernel_size` (the original
# also normalises the input with LRN, left out here).
_base_ = './segnet_vgg16-bn_1xb8-20k_camvid-360x480.py'
model = dict(
    backbone=dict(
        stage_convs=(1, 1, 1, 1),
        kernel_size=7,
        stage_channels=(64, 64, 64, 64),
        dilations=(1, 1, 1, 1),
        pool_strides=(2, 2, 2, 2),
        out_indices=(0, 1, 2, 3)),
    decode_head=dict(
        in_channels=[64, 64, 64, 64],
        in_index=[0, 1, 2, 3],
        channels=64,
        num_convs=(1, 1, 1, 1),
        kernel_size=7,
        seg_kernel_size=1,
        act_cfg=None))
