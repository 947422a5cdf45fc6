/* ScTunerRow: one style tuner of the document — its name, a strength slider and a remove button. */
#pragma once
#include <adwaita.h>

#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_TUNER_ROW (sc_tuner_row_get_type ())
G_DECLARE_FINAL_TYPE (ScTunerRow, sc_tuner_row, SC, TUNER_ROW, AdwActionRow)

GtkWidget *sc_tuner_row_new (ScDocument *document, guint index);
GtkAdjustment *sc_tuner_row_get_strength_adjustment (ScTunerRow *self);

G_END_DECLS
