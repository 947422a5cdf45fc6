/* ScHistoryItem: one finished render in the history — its picture and the parameters that made it. */
#pragma once
#include <gtk/gtk.h>

#include "runtime/engine.h"

G_BEGIN_DECLS

#define SC_TYPE_HISTORY_ITEM (sc_history_item_get_type ())
G_DECLARE_FINAL_TYPE (ScHistoryItem, sc_history_item, SC, HISTORY_ITEM, GObject)

/* Takes ownership of result. */
ScHistoryItem *sc_history_item_new (ScResult *result);
const ScResult *sc_history_item_get_result (ScHistoryItem *self);
GdkTexture *sc_history_item_get_texture (ScHistoryItem *self);
guint64 sc_history_item_get_id (ScHistoryItem *self);
guint64 sc_history_item_get_seed (ScHistoryItem *self);

G_END_DECLS
