/* ScLiveController: Live mode. While active, every document change marks the shown image stale and, after
 * a short quiet spell (changes coalesce, the latest wins), asks for a render with "render"; whoever owns
 * the engine submits the document and reports the id back. A newer submit cancels the render in flight
 * (the engine does that), so only the newest settings finish. Turning Live off asks for "cancel". */
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

/* From the "render" handler: the engine request for the current settings. */
void sc_live_controller_submitted (ScLiveController *self, guint64 id);
/* From the engine's done callback, for every id: ok when an image came back. */
void sc_live_controller_finished (ScLiveController *self, guint64 id, gboolean ok, double seconds);

G_END_DECLS
