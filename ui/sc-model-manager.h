/* ScModelManager: the "Models" window. Lists the models, tuners and controllers in the model folder and
 * those added from elsewhere, and downloads the catalogue's files into the model folder.
 *
 * Files added with "Add File…"/"Add Folder…" are registered by path in GSettings ("local-models"), not
 * copied: checkpoints are gigabytes, and a second copy would only fill the disk. A registered file that
 * was moved shows as missing and can be removed from the list. */
#pragma once
#include <adwaita.h>

G_BEGIN_DECLS

#define SC_TYPE_MODEL_MANAGER (sc_model_manager_get_type ())
G_DECLARE_FINAL_TYPE (ScModelManager, sc_model_manager, SC, MODEL_MANAGER, AdwPreferencesWindow)

/* Signal "model-activated" (const char *path): a model row's Use button was pressed. */
/* settings: NULL in an uninstalled build (then only the default folder is listed). */
ScModelManager *sc_model_manager_new (GtkWindow *parent, GSettings *settings);

/* The folder downloads go to: the "model-folder" setting, else ~/.local/share/scedit-studio/models. */
char *sc_model_manager_get_folder (ScModelManager *self);
/* Registers a file or folder from elsewhere and lists it again. */
void sc_model_manager_add_path (ScModelManager *self, const char *path);
/* Lists the folder again, probing on a worker thread. */
void sc_model_manager_rescan (ScModelManager *self);
/* For tests: rows shown in the Models and the Tuners groups; FALSE while a scan runs. */
guint sc_model_manager_get_n_models (ScModelManager *self);
guint sc_model_manager_get_n_tuners (ScModelManager *self);
gboolean sc_model_manager_get_scanning (ScModelManager *self);
/* For tests: where a catalogue entry's URL points instead ("http://127.0.0.1:PORT/" + file name). */
void sc_model_manager_set_download_base (ScModelManager *self, const char *base);
/* Starts a catalogue download, as its Download button does. */
void sc_model_manager_download (ScModelManager *self, const char *id);
gboolean sc_model_manager_get_downloading (ScModelManager *self);

G_END_DECLS
