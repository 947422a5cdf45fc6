/* ScTrainPage: the Train page — trains a style SC-Tuner on a folder of pictures with the model the window
 * has loaded, following `scedit train` (app/cmd-train.c). The training runs on a worker thread; progress
 * comes back to the UI thread, so the page never blocks. A finished tuner is saved beside the models (or
 * the pictures) and announced with "style-trained"; the window adds it to the Create page. */
#pragma once
#include <adwaita.h>

G_BEGIN_DECLS

#define SC_TYPE_TRAIN_PAGE (sc_train_page_get_type ())
G_DECLARE_FINAL_TYPE (ScTrainPage, sc_train_page, SC, TRAIN_PAGE, AdwBin)

/* The model to train on (NULL: none yet, Train is off with a hint). */
void sc_train_page_set_model_path (ScTrainPage *self, const char *path);
/* Where "model-folder" says trained styles go (NULL: beside the pictures). */
void sc_train_page_set_settings (ScTrainPage *self, GSettings *settings);

/* The form, for tests and the window. */
void sc_train_page_set_folder (ScTrainPage *self, const char *path);
const char *sc_train_page_get_folder (ScTrainPage *self);
void sc_train_page_set_style_name (ScTrainPage *self, const char *name);
void sc_train_page_set_steps (ScTrainPage *self, int steps);
void sc_train_page_set_learning_rate (ScTrainPage *self, double lr);
/* The form offers 256–1024; a smaller multiple of 64 given here widens it (tiny test models). */
void sc_train_page_set_resolution (ScTrainPage *self, int resolution);
void sc_train_page_set_caption (ScTrainPage *self, const char *caption);

/* What the train.start and train.cancel actions do. */
void sc_train_page_start (ScTrainPage *self);
void sc_train_page_cancel (ScTrainPage *self);

gboolean sc_train_page_get_running (ScTrainPage *self);
gboolean sc_train_page_can_start (ScTrainPage *self);
int sc_train_page_get_step (ScTrainPage *self);    /* the last step reported, 0 before the first */
int sc_train_page_get_n_steps (ScTrainPage *self);
const char *sc_train_page_get_status (ScTrainPage *self); /* the status line: errors, "Training cancelled" */
const char *sc_train_page_get_progress_text (ScTrainPage *self);

G_END_DECLS
