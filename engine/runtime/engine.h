/* The engine thread: one GThread per ScEngine that takes immutable requests from a one-slot queue
 * (the newest request wins; a request in flight is cancelled through its GCancellable, which the
 * pipeline checks between U-Net blocks), loads models (cached by path) and renders. Progress and
 * results come back on the GMainContext the engine was created with, as idle sources: callbacks
 * never run on the engine thread, so a GUI may touch widgets from them. */
#pragma once
#include "diffusion/pipeline.h"
#include "io/image.h"
#include "scedit/control_input.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/* A style tuner (SC-Tuner file) and how strongly it applies (0 = off, 1 = fully). */
typedef struct {
  char *path;
  float strength;
} ScRequestStyle;

/* A condition layer: a controller (CSC-Tuner file) and the picture its hint is made from. The picture is
 * 8-bit RGB rows in a GBytes, so copying a request only takes a reference; the engine keeps the hint of a
 * picture it has seen (same GBytes) and the controller keeps its features, so a weight-only change runs
 * neither the annotator nor the hint encoder. */
typedef struct {
  char *controller;
  ScControlKind kind;
  GBytes *picture;          /* width × height × 3 bytes */
  int width, height;
  float weight;             /* 0: left out */
} ScRequestControl;

/* Fills c's picture from img (any format; converted to 8-bit RGB). */
gboolean sc_request_control_set_picture (ScRequestControl *c, const ScImage *img, GError **error);

/* What to do, by value: submit copies every string and array (pictures by reference), so the caller may
 * free its own at once. A request without a prompt (NULL) only loads the model. */
typedef struct {
  char *model_path;
  char *vocab;              /* NULL: the model loader's search (next to the model, $SCEDIT_VOCAB, …) */
  char *prompt;
  char *negative_prompt;
  int width, height;
  int steps;
  float cfg_scale;
  ScSamplerKind sampler;
  guint64 seed;
  int n_threads;            /* <= 0: all cores */
  ScRequestStyle *styles;   /* SCEdit, applied in order */
  int n_styles;
  ScRequestControl *controls;
  int n_controls;
  float control_scale;      /* multiplies every condition's weight; default 1 */
  /* Inpainting (both set): the picture to repaint (RGB, init_width × init_height × 3 bytes) and the mask
   * (one byte per pixel, > 127 = repaint, any size: resized to the picture). The output then has the
   * picture's size; width/height are ignored. */
  GBytes *init_image;
  int init_width, init_height;
  GBytes *mask;
  int mask_width, mask_height;
  float strength;           /* of the repainted area; default 1 */
  int mask_grow;            /* pixels the repaint region grows by (outpainting: the overlap); < 0: the
                             * pipeline's default (4), which sc_request_init asks for */
  int mask_feather;         /* pixels of the soft composite band outside it; < 0: the default (8) */
  int outpaint[4];          /* with init_image: pixels to add left, top, right, bottom (mask optional) */
  ScPreviewMode preview;    /* what "progress" shows; default SC_PREVIEW_FAST */
} ScRequest;

void sc_request_init (ScRequest *r); /* the defaults: 512×512, 20 steps, CFG 7, Euler a, default grow/feather */
ScRequest *sc_request_copy (const ScRequest *r);
void sc_request_free (ScRequest *r);
/* The pipeline's view of the request (strings borrowed from r). */
void sc_request_to_params (const ScRequest *r, ScGenerateParams *p);

/* A finished render: the image with the parameters that made it. */
typedef struct {
  guint64 id;
  ScRequest *request;
  ScImage *image;           /* 8-bit RGB */
  char *parameters;         /* A1111 "parameters" text chunk */
  char *json;               /* our "scedit" JSON text chunk */
  double seconds;
  int hint_encoder_runs;    /* the engine's total when this finished (see sc_engine_get_hint_encoder_runs) */
} ScResult;

void sc_result_free (ScResult *r);
/* Writes the image as PNG with both text chunks. */
gboolean sc_result_save_png (const ScResult *r, const char *path, GError **error);

typedef struct {
  /* The model of a request is ready (loaded now or found in the cache). */
  void (*model_loaded) (gpointer user, guint64 id, const char *path, const char *description);
  /* After each sampling step: preview is 8-bit RGB per the request's preview method — latent size (1/8 of
   * the image) for FAST, the output size for FULL, NULL for NONE. */
  void (*progress) (gpointer user, guint64 id, int step, int n_steps, const ScImage *preview);
  /* Exactly once per submitted request: result (owned by the engine, valid for the call; steal
   * fields by setting them to NULL) or error (SC_ERROR_CANCELLED when cancelled or superseded). */
  void (*done) (gpointer user, guint64 id, ScResult *result, const GError *error);
} ScEngineCallbacks;

typedef struct _ScEngine ScEngine;

/* context NULL: the thread-default context of the caller. Callbacks may be NULL. */
ScEngine *sc_engine_new (GMainContext *context, const ScEngineCallbacks *callbacks, gpointer user);
/* Cancels everything, joins the thread; no callback runs after this returns. Call it on the
 * thread that owns the context. */
void sc_engine_free (ScEngine *engine);

/* Queues a copy of r, replacing a request still waiting and cancelling the one in flight. Returns
 * the request's id (> 0). Never blocks. */
guint64 sc_engine_submit (ScEngine *engine, const ScRequest *r);
/* Cancels the request in flight and drops the one waiting. */
void sc_engine_cancel (ScEngine *engine);
/* How often the controllers' hint encoders ran since the engine started (a cached picture at the same
 * size costs nothing); for tests and diagnostics. */
int sc_engine_get_hint_encoder_runs (ScEngine *engine);
/* Whether a request is waiting or running (as seen from the calling thread, racy by nature). */
gboolean sc_engine_is_busy (ScEngine *engine);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScRequest, sc_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScResult, sc_result_free)

G_END_DECLS
