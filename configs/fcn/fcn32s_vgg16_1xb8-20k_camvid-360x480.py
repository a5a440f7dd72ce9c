_base_ = './fcn8s_vgg16_1xb8-20k_camvid-360x480.py'
# FCN-32s: fc7 alone
model = dict(
    backbone=dict(out_indices=(5, )),
    decode_head=dict(in_channels=[4096], in_index=[0]))
