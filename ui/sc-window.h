/* ScWindow: the main window — the empty state until a model is loaded, then the Create page (canvas,
 * history strip, side panel). It owns the document, the engine (its own thread) and the GSettings;
 * engine callbacks land on the main context, so the UI never waits on a render. */
#pragma once
#include <adwaita.h>

#include "sc-canvas.h"
#include "sc-document.h"
#include "sc-history-strip.h"
#include "sc-live-controller.h"
#include "sc-train-page.h"

G_BEGIN_DECLS

#define SC_TYPE_WINDOW (sc_window_get_type ())
G_DECLARE_FINAL_TYPE (ScWindow, sc_window, SC, WINDOW, AdwApplicationWindow)

ScWindow *sc_window_new (GtkApplication *application);
/* Loads a model on the engine thread: a .safetensors file or a diffusers folder. */
void sc_window_load_model (ScWindow *self, const char *path);
/* Shows an image; a PNG we saved also restores its settings. Reads on a worker thread. */
void sc_window_open_image (ScWindow *self, GFile *file);
/* Saves the render shown as PNG with its settings and the document's layers (win.save without the
 * chooser). Writes on a worker thread; a toast says how it went. */
void sc_window_save_image (ScWindow *self, GFile *file);
/* Pictures open, anything else loads as a model (what a drop on the window does). */
void sc_window_open_files (ScWindow *self, GFile **files, int n_files);
void sc_window_toast (ScWindow *self, const char *message);

/* For tests and the screenshot tool. */
ScDocument *sc_window_get_document (ScWindow *self);
ScCanvas *sc_window_get_canvas (ScWindow *self);
ScHistoryStrip *sc_window_get_history (ScWindow *self);
ScTrainPage *sc_window_get_train_page (ScWindow *self);
const char *sc_window_get_page (ScWindow *self); /* "empty", "loading" or "ready" */
gboolean sc_window_get_busy (ScWindow *self);   /* a render in flight */
ScLiveController *sc_window_get_live_controller (ScWindow *self);
/* The paint bar's inpainting controls, bound to the document's "mask-grow" and "mask-feather"; visible
 * (with their labels) only while the mask is the active layer. */
GtkRange *sc_window_get_mask_grow_control (ScWindow *self);
GtkRange *sc_window_get_mask_feather_control (ScWindow *self);

G_END_DECLS
