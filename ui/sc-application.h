/* ScApplication: app-wide actions (preferences, about, quit), keyboard accelerators, and opening files
 * given on the command line — models (.safetensors files, diffusers folders) and images. */
#pragma once
#include <adwaita.h>

G_BEGIN_DECLS

#define SC_TYPE_APPLICATION (sc_application_get_type ())
G_DECLARE_FINAL_TYPE (ScApplication, sc_application, SC, APPLICATION, AdwApplication)

ScApplication *sc_application_new (void);
/* Whether a path given to the app is a model (and not an image). */
gboolean sc_application_is_model_path (const char *path);

G_END_DECLS
