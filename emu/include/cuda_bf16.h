// __nv_bfloat16 as a storage type with round-to-nearest-even conversions (EMU builds).
#pragma once
#include <cuda_runtime.h>

#include "posenet_emu/half_types.h"
