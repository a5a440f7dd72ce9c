# From-scratch CPU recipes that train in about 30 minutes on 2 cores: AdamW,
# a short linear warm-up, then poly decay to the end of training. A leaf
# config sets `train_cfg.max_iters` (and `val_interval`) from its measured
# step time; the schedulers end there by default.
_base_ = './schedule_20k.py'
optimizer = dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, _delete_=True)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=1e-5, by_epoch=False, begin=100)
]
train_cfg = dict(max_iters=3000, val_interval=600)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=-1, save_last=True))
