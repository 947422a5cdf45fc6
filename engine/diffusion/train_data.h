/* A training set: a folder of pictures (PNG, JPEG) with optional captions in NAME.txt beside them
 * (cat.png → cat.txt). Each picture is fitted to resolution² as the spec's transform (short side resized
 * bilinear, centre crop; ../shared/specs/scedit.md §4), VAE-encoded once and each caption text-encoded once;
 * everything stays in memory. The VAE posterior is kept (mean and std, × the scale factor) so every use
 * draws a fresh sample, as the reference's training does. */
#pragma once
#include "backend/backend.h"
#include "core/philox.h"
#include "models/model_loader.h"

G_BEGIN_DECLS

typedef struct {
  char *name;          /* file name within the folder */
  char *caption;       /* the .txt's text (stripped) or the default */
  gboolean own_caption;/* TRUE when it came from a .txt */
  float *mean, *std;   /* [h, w, c] host, already × the VAE's scale factor */
  float *context;      /* [n_ctx, context_dim] host */
} ScTrainItem;

typedef struct {
  int n;
  ScTrainItem *items;  /* sorted by file name */
  int resolution;      /* pixels per side */
  int64_t h, w, c;     /* latent */
  int64_t n_ctx, context_dim;
} ScTrainData;

/* Whether the model can train at resolution × resolution: the VAE divides by 8 and the U-Net's backward
 * halves the latent (levels − 1) times, so SD needs multiples of 64. */
gboolean sc_train_check_resolution (const ScModel *model, int resolution, GError **error);

/* Reads every picture of dir (needs the model's VAE encoder, text encoder and tokenizer). Pictures without
 * a .txt get default_caption (NULL: ""). Errors: a folder without pictures, a picture that cannot be read
 * (named), WebP files (not supported), a resolution the model cannot train at. */
ScTrainData *sc_train_data_load (ScModel *model, const ScBackend *be, const char *dir, int resolution,
                                 const char *default_caption, GError **error);
void sc_train_data_free (ScTrainData *data);

/* out [h, w, c] = a posterior sample of item i: mean + std·ε, ε from rng. */
void sc_train_data_latent (const ScTrainData *data, int i, ScPhilox *rng, float *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScTrainData, sc_train_data_free)

G_END_DECLS
