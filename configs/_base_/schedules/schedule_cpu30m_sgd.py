# The CPU schedule (schedule_cpu30m_adamw.py: linear warm-up, poly decay to
# the leaf config's max_iters) with SGD and momentum as SegNet's solvers
# (momentum 0.9, weight decay 5e-4; lr 0.1 for SegNet-Basic from scratch):
# lr 0.05, chosen on SegNet at half resolution (0.025 and 0.1 were worse).
# The plain encoder-decoders (SegNet, DeconvNet) and U-Net learn much faster
# with it than with AdamW (configs/segnet/README.md).
_base_ = './schedule_cpu30m_adamw.py'
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, _delete_=True)
