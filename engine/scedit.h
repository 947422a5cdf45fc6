/* SCEdit Studio engine — the one header the app and the CLI include.
 *
 * The engine turns requests into images on a backend (CPU now, CUDA when built): models load from LDM
 * single files or diffusers folders (sc_model_load), prompts become images (sc_generate), and the same
 * pieces are reachable one by one for reference comparisons (the component headers in models/). Every fallible
 * call takes a GError ** in the SC_ERROR domain. */
#pragma once

#include "backend/backend.h"
#include "backend/device.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "diffusion/pipeline.h"
#include "io/image.h"
#include "io/safetensors.h"
#include "models/arch.h"
#include "models/clip_tokenizer.h"
#include "models/make_model.h"
#include "models/model_loader.h"
#include "runtime/engine.h"
