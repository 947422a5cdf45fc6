/* ScHistoryStrip: a horizontal strip of every render, newest first. Each entry offers "copy seed" and
 * "delete" through the window's actions (win.copy-seed, win.delete-render, target: the render id);
 * activating an entry emits "item-activated". */
#pragma once
#include <gtk/gtk.h>

#include "sc-history-item.h"

G_BEGIN_DECLS

#define SC_TYPE_HISTORY_STRIP (sc_history_strip_get_type ())
G_DECLARE_FINAL_TYPE (ScHistoryStrip, sc_history_strip, SC, HISTORY_STRIP, GtkWidget)

void sc_history_strip_prepend (ScHistoryStrip *self, ScHistoryItem *item);
ScHistoryItem *sc_history_strip_lookup (ScHistoryStrip *self, guint64 id);
gboolean sc_history_strip_remove (ScHistoryStrip *self, guint64 id);
guint sc_history_strip_get_n_items (ScHistoryStrip *self);

G_END_DECLS
