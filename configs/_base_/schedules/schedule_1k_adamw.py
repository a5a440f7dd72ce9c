# 1k iterations of AdamW with poly decay, for from-scratch CPU runs of the
# narrow models; checkpoints at 500 and 1000
_base_ = './schedule_20k.py'
max_iters = 1000
optimizer = dict(type='AdamW', lr=2e-3, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, _delete_=True)
param_scheduler = [
    dict(
        type='PolyLR', power=0.9, eta_min=1e-5, by_epoch=False, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(interval=max_iters // 2, max_keep_ckpts=2))
