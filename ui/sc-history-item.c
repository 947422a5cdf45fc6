#define G_LOG_DOMAIN "scedit-history"

#include "sc-history-item.h"

#include "sc-canvas.h"

struct _ScHistoryItem {
  GObject parent_instance;
  ScResult *result;
  GdkTexture *texture;
};

G_DEFINE_FINAL_TYPE (ScHistoryItem, sc_history_item, G_TYPE_OBJECT)

static void
sc_history_item_finalize (GObject *object)
{
  ScHistoryItem *self = SC_HISTORY_ITEM (object);
  sc_result_free (self->result);
  g_clear_object (&self->texture);
  G_OBJECT_CLASS (sc_history_item_parent_class)->finalize (object);
}

static void
sc_history_item_class_init (ScHistoryItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sc_history_item_finalize;
}

static void
sc_history_item_init (ScHistoryItem *self)
{
}

ScHistoryItem *
sc_history_item_new (ScResult *result)
{
  g_return_val_if_fail (result && result->image && result->request, NULL);
  ScHistoryItem *self = g_object_new (SC_TYPE_HISTORY_ITEM, NULL);
  self->result = result;
  self->texture = sc_texture_new_for_image (result->image);
  return self;
}

const ScResult *
sc_history_item_get_result (ScHistoryItem *self)
{
  g_return_val_if_fail (SC_IS_HISTORY_ITEM (self), NULL);
  return self->result;
}

GdkTexture *
sc_history_item_get_texture (ScHistoryItem *self)
{
  g_return_val_if_fail (SC_IS_HISTORY_ITEM (self), NULL);
  return self->texture;
}

guint64
sc_history_item_get_id (ScHistoryItem *self)
{
  g_return_val_if_fail (SC_IS_HISTORY_ITEM (self), 0);
  return self->result->id;
}

guint64
sc_history_item_get_seed (ScHistoryItem *self)
{
  g_return_val_if_fail (SC_IS_HISTORY_ITEM (self), 0);
  return self->result->request->seed;
}
