#!/usr/bin/env bash
# Train each narrow CPU recipe from scratch on full CamVid (367 train images,
# brought to 240x180) for ITERS iterations and validate on its 101 val
# images; logs and checkpoints go to work_dirs/camvid_cpu/<config name>.
#   benchmarks/camvid_cpu.sh CAMVID_ROOT [ITERS]     (default 500)
set -euo pipefail
root=${1:?usage: benchmarks/camvid_cpu.sh CAMVID_ROOT [ITERS]}
iters=${2:-500}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
for cfg in \
    configs/demo/fcn8s_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py \
    configs/segnet/segnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py \
    configs/deconvnet/deconvnet_vgg16-bn-tiny_1xb4-1k_camvid-mini-180x240.py \
    configs/dilatednet/dilatednet_vgg16-bn-tiny_1xb8-1k_camvid-mini-180x240.py \
    configs/deeplabv1/deeplabv1-largefov_vgg16-bn-tiny_1xb8-1k_camvid-mini-180x240.py; do
  name=$(basename "$cfg" .py)
  start=$(date +%s)
  "$PYTHON" tools/train.py "$cfg" --work-dir "work_dirs/camvid_cpu/$name" \
    --cfg-options randomness.seed=0 \
    train_dataloader.dataset.data_root="$root" \
    val_dataloader.dataset.data_root="$root" \
    test_dataloader.dataset.data_root="$root" \
    train_cfg.max_iters="$iters" train_cfg.val_interval="$iters" \
    param_scheduler.0.end="$iters" default_hooks.checkpoint.interval="$iters"
  echo "$name: $(( $(date +%s) - start )) s"
done
