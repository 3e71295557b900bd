#pragma once
#include "posenet_emu/api.h"
