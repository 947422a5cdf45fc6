/* ScConditionRow: one condition layer of the document — kind, picture thumbnail, visibility, a weight
 * slider (0–1.5, 0 = off), and inside: load a picture, take it from the current image, clear it, and the
 * controller file. */
#pragma once
#include <adwaita.h>

#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_CONDITION_ROW (sc_condition_row_get_type ())
G_DECLARE_FINAL_TYPE (ScConditionRow, sc_condition_row, SC, CONDITION_ROW, AdwExpanderRow)

GtkWidget *sc_condition_row_new (ScDocument *document, guint index);
GtkAdjustment *sc_condition_row_get_weight_adjustment (ScConditionRow *self);
/* The kind's name as people read it ("Edges", "Depth", …). */
const char *sc_condition_kind_label (ScControlKind kind);

G_END_DECLS
