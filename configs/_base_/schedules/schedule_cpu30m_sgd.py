# The CPU schedule (schedule_cpu30m_adamw.py: linear warm-up, poly decay to
# the leaf config's max_iters) with SGD and momentum, as the SegNet paper
# trains: lr 0.05, momentum 0.9, weight decay 5e-4. The plain encoder-decoders
# (SegNet, DeconvNet) and U-Net learn much faster with it than with AdamW
# (configs/segnet/README.md).
_base_ = './schedule_cpu30m_adamw.py'
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, _delete_=True)
