/* ScPreferencesWindow: device (with free memory), threads, live-mode quality, the preview method and the
 * model folder, bound to GSettings. The device list is made on a worker thread when the window opens. */
#pragma once
#include <adwaita.h>

G_BEGIN_DECLS

#define SC_TYPE_PREFERENCES_WINDOW (sc_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (ScPreferencesWindow, sc_preferences_window, SC, PREFERENCES_WINDOW, AdwPreferencesWindow)

ScPreferencesWindow *sc_preferences_window_new (GtkWindow *parent, GSettings *settings);
/* The device row lists every device, GPUs included (for tests: the listing runs on a worker thread). */
gboolean sc_preferences_window_get_devices_listed (ScPreferencesWindow *self);

G_END_DECLS
