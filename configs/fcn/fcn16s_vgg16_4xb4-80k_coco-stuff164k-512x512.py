_base_ = './fcn8s_vgg16_4xb4-80k_coco-stuff164k-512x512.py'
# FCN-16s: fuse pool4 and fc7
model = dict(
    backbone=dict(out_indices=(3, 5)),
    decode_head=dict(in_channels=[512, 4096], in_index=[0, 1]))
