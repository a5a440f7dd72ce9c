# U-Net on VGG16-BN fusing the skips by addition (the course notes' variant)
# instead of concatenation, CamVid 360x480, class-balanced
_base_ = './unet_vgg16-bn_1xb8-20k_camvid-360x480.py'
model = dict(decode_head=dict(fusion='sum'))
