/* ScDocument: what the Create page edits — prompt, seed, size, sampler… — as properties. Any change emits
 * "changed"; the window turns the document into an engine request only when asked to render. */
#pragma once
#include <glib-object.h>

#include "runtime/engine.h"
#include "sc-paint-tool.h"
#include "sc-undo-stack.h"

G_BEGIN_DECLS

#define SC_TYPE_DOCUMENT (sc_document_get_type ())
G_DECLARE_FINAL_TYPE (ScDocument, sc_document, SC, DOCUMENT, GObject)

/* The largest seed the UI offers: spin buttons hold doubles, exact up to 2^53. */
#define SC_DOCUMENT_SEED_MAX (G_GUINT64_CONSTANT (1) << 53)
/* Inpainting and outpainting: "mask-grow" (pixels the repaint region grows by; outpainting: the overlap
 * into the old picture) and "mask-feather" (pixels of the soft blend outside it), 0 to this many. */
#define SC_DOCUMENT_MASK_RADIUS_MAX 64
#define SC_DOCUMENT_MASK_GROW_DEFAULT 4
#define SC_DOCUMENT_MASK_FEATHER_DEFAULT 8

ScDocument *sc_document_new (void);
const char *sc_document_get_model_path (ScDocument *self);
void sc_document_set_model_path (ScDocument *self, const char *path);
guint64 sc_document_get_seed (ScDocument *self);
void sc_document_set_seed (ScDocument *self, guint64 seed);
gboolean sc_document_get_seed_locked (ScDocument *self);
void sc_document_reroll_seed (ScDocument *self);
/* The request for the current settings (strings borrowed from the document until it changes). */
void sc_document_to_request (ScDocument *self, ScRequest *r);
/* Outpainting: pixels the next render adds to the current image on each side (accumulates; 0 to
 * SC_DOCUMENT_EXTEND_MAX). Each call that changes the margins is one undo step. */
#define SC_DOCUMENT_EXTEND_MAX 1024
void sc_document_extend (ScDocument *self, int left, int top, int right, int bottom);
void sc_document_get_extension (ScDocument *self, int margins[4]);
/* After a render that extended the image (its result already includes the margins). */
void sc_document_clear_extension (ScDocument *self);
/* After that render: condition pictures and the mask of the old picture's size (old_w × old_h) grow by the
 * same margins, black (no condition, nothing to repaint) in the new area, so they stay over the pixels
 * they were painted on. */
void sc_document_extend_layers (ScDocument *self, int old_w, int old_h, const int margins[4]);
/* SCEdit layers. Styles: an SC-Tuner file with a strength in [0, 1]. Conditions: a kind, a picture
 * (8-bit RGB), a controller (CSC-Tuner file), a weight in [0, 1.5] (0 = off) and a visibility switch.
 * Layers are addressed by index; adding or removing one emits "layers-changed" (then "changed"),
 * editing one emits "changed". */
#define SC_DOCUMENT_WEIGHT_MAX 1.5

guint sc_document_get_n_styles (ScDocument *self);
guint sc_document_add_style (ScDocument *self, const char *path);
void sc_document_remove_style (ScDocument *self, guint index);
const char *sc_document_get_style_path (ScDocument *self, guint index);
double sc_document_get_style_strength (ScDocument *self, guint index);
void sc_document_set_style_strength (ScDocument *self, guint index, double strength);

guint sc_document_get_n_conditions (ScDocument *self);
guint sc_document_add_condition (ScDocument *self, ScControlKind kind);
void sc_document_remove_condition (ScDocument *self, guint index);
ScControlKind sc_document_get_condition_kind (ScDocument *self, guint index);
/* picture: 8-bit RGB rows (width × height × 3 bytes), NULL clears. is_map: the picture already is the
 * condition map (made by "From Current Image"), so the annotator is not run again. */
void sc_document_set_condition_picture (ScDocument *self, guint index, GBytes *picture, int width, int height,
                                        gboolean is_map);
GBytes *sc_document_get_condition_picture (ScDocument *self, guint index, int *width, int *height);
double sc_document_get_condition_weight (ScDocument *self, guint index);
void sc_document_set_condition_weight (ScDocument *self, guint index, double weight);
gboolean sc_document_get_condition_visible (ScDocument *self, guint index);
void sc_document_set_condition_visible (ScDocument *self, guint index, gboolean visible);
const char *sc_document_get_condition_controller (ScDocument *self, guint index);
void sc_document_set_condition_controller (ScDocument *self, guint index, const char *path);
/* Whether the picture already is the condition map (see sc_document_set_condition_picture). */
gboolean sc_document_get_condition_is_map (ScDocument *self, guint index);

/* Painting. The active layer is what the canvas paints on: the image (8-bit RGB, set by whoever shows
 * one), the mask (8-bit grey at the document size, white = repaint, made on first paint) or a condition's
 * picture (made black at the document size on first paint). Points are in the layer's pixels. Every
 * paint and every weight change is one step on the document's undo stack (weight changes close together
 * coalesce). */
typedef enum {
  SC_LAYER_IMAGE,
  SC_LAYER_MASK,
  SC_LAYER_CONDITION,
} ScLayerKind;

/* Emits "active-layer-changed" (also emitted when a new image replaces the active image layer). */
void sc_document_set_active_layer (ScDocument *self, ScLayerKind kind, guint condition);
ScLayerKind sc_document_get_active_layer (ScDocument *self, guint *condition);
/* The active layer's picture (NULL when it has none yet), its size and channels (1 or 3). */
GBytes *sc_document_get_layer_pixels (ScDocument *self, ScLayerKind kind, guint condition, int *width, int *height,
                                      int *channels);
/* Paints on the active layer; FALSE when nothing changed. */
gboolean sc_document_paint (ScDocument *self, const ScPaintTool *tool, const double *points, guint n_points);
void sc_document_set_image (ScDocument *self, GBytes *rgb, int width, int height);
GBytes *sc_document_get_mask (ScDocument *self, int *width, int *height);
/* Replaces the mask (8-bit grey, width × height bytes; NULL clears it) without an undo step: for a mask
 * restored from a saved image. */
void sc_document_set_mask (ScDocument *self, GBytes *mask, int width, int height);
gboolean sc_document_undo (ScDocument *self);
gboolean sc_document_redo (ScDocument *self);
ScUndoStack *sc_document_get_undo_stack (ScDocument *self);

/* Restores the settings from our "scedit" PNG JSON chunk; unknown or missing fields stay as they are. */
gboolean sc_document_apply_json (ScDocument *self, const char *json, GError **error);

G_END_DECLS
