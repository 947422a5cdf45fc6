/* ScLiveController: Live mode. While active, every document change marks the shown image stale and, after
 * a short quiet spell (changes coalesce, the latest wins), asks for a render with "render"; whoever owns
 * the engine submits the request sc_live_controller_build_request makes and reports the id back. A newer
 * submit cancels the render in flight (the engine does that), so only the newest settings finish. Turning
 * Live off asks for "cancel".
 *
 * Live renders trade quality for speed: the "steps" and "size" properties (the window binds them to the
 * live-steps and live-size settings) replace the document's steps and cap the long side of the image. */
#pragma once
#include "sc-document.h"

G_BEGIN_DECLS

#define SC_LIVE_DEBOUNCE_MS 150

#define SC_TYPE_LIVE_CONTROLLER (sc_live_controller_get_type ())
G_DECLARE_FINAL_TYPE (ScLiveController, sc_live_controller, SC, LIVE_CONTROLLER, GObject)

ScLiveController *sc_live_controller_new (ScDocument *document);
gboolean sc_live_controller_get_active (ScLiveController *self);
void sc_live_controller_set_active (ScLiveController *self, gboolean active);
/* A live render is waiting or running. */
gboolean sc_live_controller_get_busy (ScLiveController *self);
/* The image shown does not match the settings (only meaningful while active). */
gboolean sc_live_controller_get_stale (ScLiveController *self);
/* Seconds the last finished live render took; 0 before the first. */
double sc_live_controller_get_last_seconds (ScLiveController *self);
/* How many live renders finished with an image (for tests). */
guint sc_live_controller_get_n_finished (ScLiveController *self);

#define SC_LIVE_DEFAULT_STEPS 8
#define SC_LIVE_DEFAULT_SIZE 512

/* The document's request with the live quality: "steps" steps, and when the long side is above "size", a
 * smaller image of the same shape (sides multiples of 8), shown scaled up to fill the canvas. A picture
 * being inpainted or extended keeps its size: its pixels and mask are at that size. Strings are borrowed
 * from the document, as sc_document_to_request. */
void sc_live_controller_build_request (ScLiveController *self, ScRequest *r);

/* From the "render" handler: the engine request for the current settings. */
void sc_live_controller_submitted (ScLiveController *self, guint64 id);
/* From the engine's done callback, for every id: ok when an image came back. */
void sc_live_controller_finished (ScLiveController *self, guint64 id, gboolean ok, double seconds);

G_END_DECLS
