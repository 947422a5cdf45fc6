/* ScConditionsPanel: the SCEdit part of the Create panel — a "Style" group (style tuners with strength
 * sliders) and a "Conditions" group (condition layers with weight sliders), both views of an ScDocument. */
#pragma once
#include <gtk/gtk.h>

#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_CONDITIONS_PANEL (sc_conditions_panel_get_type ())
G_DECLARE_FINAL_TYPE (ScConditionsPanel, sc_conditions_panel, SC, CONDITIONS_PANEL, GtkWidget)

void sc_conditions_panel_set_document (ScConditionsPanel *self, ScDocument *document);
/* The rows as they are now (NULL past the end); they are rebuilt when layers come or go. */
GtkWidget *sc_conditions_panel_get_style_row (ScConditionsPanel *self, guint index);
GtkWidget *sc_conditions_panel_get_condition_row (ScConditionsPanel *self, guint index);

G_END_DECLS
