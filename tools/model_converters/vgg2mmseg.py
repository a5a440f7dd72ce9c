"""Convert torchvision VGG ImageNet weights for the VGG backbone.

Example:
    python tools/model_converters/vgg2mmseg.py vgg16-397923af.pth \
        pretrain/vgg16.pth
    # DeepLab-LargeFOV's decimated fc6 (3x3, 1024) / fc7 (1024):
    python tools/model_converters/vgg2mmseg.py vgg16-397923af.pth \
        pretrain/vgg16_largefov.pth --fc-channels 1024 --fc6-kernel 3

Then set ``model.backbone.init_cfg=dict(type='Pretrained',
checkpoint='pretrain/vgg16.pth')``.
"""
import argparse
import os
import os.path as osp

import torch

from mmseg_ext.models.backbones.vgg_convert import convert_vgg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='torchvision VGG state dict (.pth)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--fc-channels', type=int, default=4096)
    parser.add_argument('--fc6-kernel', type=int, default=7)
    args = parser.parse_args()
    if not osp.isfile(args.src):
        parser.error(f'no such file: {args.src}')
    state_dict = torch.load(args.src, map_location='cpu', weights_only=True)
    weights = convert_vgg(state_dict, args.fc_channels, args.fc6_kernel)
    if osp.dirname(args.dst):
        os.makedirs(osp.dirname(args.dst), exist_ok=True)
    torch.save(dict(state_dict=weights), args.dst)
    print(f'wrote {len(weights)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
