// The CUDA emulator's stand-in for the toolkit's header (EMU builds only:
// emu/include comes first on the include path, and every rewritten .cu
// includes it first, as nvcc does).
#pragma once
#include "posenet_emu/api.h"
#include "posenet_emu/device.h"
#include "posenet_emu/launch.h"
