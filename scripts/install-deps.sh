#!/usr/bin/env bash
# Installs everything posenet needs to build and test, from Debian's packages.
# The CUDA toolkit and cuDNN are not Debian packages; when they are present
# (nvcc on PATH or under /usr/local/cuda) the CUDA backend is built too.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  build-essential cmake ninja-build pkg-config \
  libopenblas-openmp-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libcli11-dev libstb-dev nlohmann-json3-dev libmatio-dev libturbojpeg0-dev \
  openmpi-bin libopenmpi-dev \
  clang libclang-rt-14-dev libomp-dev python3 \
  patchelf
