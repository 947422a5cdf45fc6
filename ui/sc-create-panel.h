/* ScCreatePanel: the side panel of the Create page — prompt, negative prompt, seed, steps, guidance,
 * size, sampler, and Generate / Cancel. Its widgets are bound to an ScDocument both ways. */
#pragma once
#include <gtk/gtk.h>

#include "sc-document.h"

G_BEGIN_DECLS

#define SC_TYPE_CREATE_PANEL (sc_create_panel_get_type ())
G_DECLARE_FINAL_TYPE (ScCreatePanel, sc_create_panel, SC, CREATE_PANEL, GtkWidget)

void sc_create_panel_set_document (ScCreatePanel *self, ScDocument *document);
/* Focuses the prompt field. */
void sc_create_panel_focus_prompt (ScCreatePanel *self);

G_END_DECLS
