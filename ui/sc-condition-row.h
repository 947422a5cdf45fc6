/* ScConditionRow: one condition layer of the document — kind, picture thumbnail, visibility, a weight
 * slider (0–1.5, 0 = off), and inside: load a picture, take it from the current image, paste it, clear
 * it, and the controller file. A picture file or image dropped on the row becomes its picture. */
#pragma once
#include <adwaita.h>

#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_CONDITION_ROW (sc_condition_row_get_type ())
G_DECLARE_FINAL_TYPE (ScConditionRow, sc_condition_row, SC, CONDITION_ROW, AdwExpanderRow)

GtkWidget *sc_condition_row_new (ScDocument *document, guint index);
GtkAdjustment *sc_condition_row_get_weight_adjustment (ScConditionRow *self);
/* Makes a picture file or a texture this condition's picture on a worker thread, as "Load Image…" does
 * (it calls the first): pictures dropped on the row and pasted into it come here. A failure is a toast
 * and keeps the picture there was; callback (may be NULL) is called at the end either way, and
 * sc_condition_row_accept_finish gives its error. */
void sc_condition_row_accept_file (ScConditionRow *self, GFile *file, GAsyncReadyCallback callback, gpointer user);
void sc_condition_row_accept_texture (ScConditionRow *self, GdkTexture *texture, GAsyncReadyCallback callback,
                                      gpointer user);
gboolean sc_condition_row_accept_finish (ScConditionRow *self, GAsyncResult *result, GError **error);
/* The kind's name as people read it ("Edges", "Depth", …). */
const char *sc_condition_kind_label (ScControlKind kind);

G_END_DECLS
