/* Where model builders get their parameters. A source answers "give me tensor NAME with exactly this
 * shape as f32" for canonical names (the LDM single-file names, e.g.
 * "model.diffusion_model.input_blocks.0.0.weight"), whatever the files call them.
 *
 * Two kinds of source:
 *  - a file store: safetensors files and torch.save archives, each with a name map into canonical names;
 *  - a random source: deterministic random weights for `scedit make-model`, which also records every
 *    request, so building a model once with it enumerates the model's exact parameter list. */
#pragma once
#include "core/tensor.h"
#include "io/safetensors.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct ScWeightSource ScWeightSource;

/* How a random source fills a parameter (chosen by the builder, which knows what the tensor is). */
typedef enum {
  SC_INIT_WEIGHT, /* N(0, 1/fan_in): fan_in = numel / shape[0] */
  SC_INIT_BIAS,   /* N(0, 0.02) */
  SC_INIT_NORM_GAMMA, /* 1 + N(0, 0.1) */
  SC_INIT_NORM_BETA,  /* N(0, 0.1) */
  SC_INIT_EMBEDDING,  /* N(0, 0.02) */
  SC_INIT_ZERO,
} ScInitKind;

/* Returns a newly allocated f32 copy (sc_free_floats) of NAME, which must have exactly SHAPE
 * (PyTorch layout). Errors name the tensor: missing, wrong shape, unusable dtype. */
float *sc_weight_source_get (ScWeightSource *src, const char *name, int ndim, const int64_t *shape,
                             ScInitKind init, GError **error);
gboolean sc_weight_source_has (ScWeightSource *src, const char *name);
/* Shape of NAME as stored (for detection: widths, depths); FALSE if absent. */
gboolean sc_weight_source_shape (ScWeightSource *src, const char *name, int *ndim, int64_t shape[SC_MAX_DIMS]);
void sc_weight_source_free (ScWeightSource *src);

/* Maps a name as stored in a file to its canonical name; returns NULL to ignore the tensor. */
typedef char *(*ScNameMapFunc) (const char *file_name, gpointer user_data);

ScWeightSource *sc_weight_source_new_files (void);
/* Adds a safetensors file; every tensor name goes through map (NULL: identity) and then gets `prefix`
 * prepended (NULL: none). Later files do not override earlier ones. */
gboolean sc_weight_source_add_file (ScWeightSource *src, const char *path, ScNameMapFunc map,
                                    gpointer map_data, const char *prefix, GError **error);
/* The same for a torch.save archive (.ckpt/.pt/.pth/.bin); a top-level "state_dict" level is unwrapped
 * first, and non-tensor values are ignored. */
gboolean sc_weight_source_add_torch_file (ScWeightSource *src, const char *path, ScNameMapFunc map,
                                          gpointer map_data, const char *prefix, GError **error);
/* Number of tensors available / names (canonical). */
GPtrArray *sc_weight_source_names (ScWeightSource *src);
/* The dtype the file stores NAME in (to report "f16 checkpoint"). */
gboolean sc_weight_source_dtype (ScWeightSource *src, const char *name, ScDType *dtype);

/* A random source: same seed and name → same values, in any order of requests. */
ScWeightSource *sc_weight_source_new_random (uint64_t seed);
typedef struct {
  char *name;
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  float *data; /* owned by the record list when keep_data was set */
} ScWeightRecord;
/* Every tensor requested so far, in request order. If keep_data, each record keeps a copy of the values
 * handed out (for writing files). */
void sc_weight_source_set_keep_data (ScWeightSource *src, gboolean keep_data);
const GPtrArray *sc_weight_source_records (ScWeightSource *src);

G_END_DECLS
