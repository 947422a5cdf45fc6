#define G_LOG_DOMAIN "scedit-history"

#include "sc-history-strip.h"

#include <glib/gi18n.h>

struct _ScHistoryStrip {
  GtkWidget parent_instance;
  GtkStack *stack;
  GtkListView *list_view;
  GListStore *store;
};

G_DEFINE_FINAL_TYPE (ScHistoryStrip, sc_history_strip, GTK_TYPE_WIDGET)

enum { ITEM_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

#define THUMB 96

static void
setup_item (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer user)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_add_css_class (box, "sc-history-item");
  /* GtkImage fits the render into a THUMB square whatever its shape (a GtkPicture's natural height follows
   * the image, so a tall render made its item taller than the others) */
  GtkWidget *picture = gtk_image_new ();
  gtk_image_set_pixel_size (GTK_IMAGE (picture), THUMB);
  gtk_box_append (GTK_BOX (box), picture);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_set_halign (buttons, GTK_ALIGN_CENTER);
  GtkWidget *copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  gtk_widget_set_tooltip_text (copy, _("Copy Seed"));
  g_object_set_data (G_OBJECT (copy), "sc-action", (gpointer) "win.copy-seed");
  GtkWidget *del = gtk_button_new_from_icon_name ("user-trash-symbolic");
  gtk_widget_set_tooltip_text (del, _("Delete"));
  g_object_set_data (G_OBJECT (del), "sc-action", (gpointer) "win.delete-render");
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_add_css_class (del, "flat");
  gtk_box_append (GTK_BOX (buttons), copy);
  gtk_box_append (GTK_BOX (buttons), del);
  gtk_box_append (GTK_BOX (box), buttons);
  gtk_list_item_set_child (list_item, box);
}

static void
bind_item (GtkSignalListItemFactory *factory, GtkListItem *list_item, gpointer user)
{
  ScHistoryItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *picture = gtk_widget_get_first_child (box);
  GtkWidget *buttons = gtk_widget_get_next_sibling (picture);
  gtk_image_set_from_paintable (GTK_IMAGE (picture), GDK_PAINTABLE (sc_history_item_get_texture (item)));
  const ScResult *r = sc_history_item_get_result (item);
  gtk_widget_set_tooltip_text (box, r->parameters);
  GVariant *target = g_variant_new_uint64 (sc_history_item_get_id (item));
  g_variant_ref_sink (target);
  /* the action name goes on after its target: a "t" action without a target is an error */
  for (GtkWidget *b = gtk_widget_get_first_child (buttons); b; b = gtk_widget_get_next_sibling (b))
    {
      gtk_actionable_set_action_target_value (GTK_ACTIONABLE (b), target);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (b), g_object_get_data (G_OBJECT (b), "sc-action"));
    }
  g_variant_unref (target);
}

static void
on_activate (GtkListView *view, guint position, ScHistoryStrip *self)
{
  g_autoptr (ScHistoryItem) item = g_list_model_get_item (G_LIST_MODEL (self->store), position);
  if (item)
    g_signal_emit (self, signals[ITEM_ACTIVATED], 0, item);
}

static void
update_page (ScHistoryStrip *self)
{
  gboolean any = g_list_model_get_n_items (G_LIST_MODEL (self->store)) > 0;
  gtk_stack_set_visible_child_name (self->stack, any ? "items" : "empty");
}

static void
sc_history_strip_dispose (GObject *object)
{
  ScHistoryStrip *self = SC_HISTORY_STRIP (object);
  gtk_widget_dispose_template (GTK_WIDGET (self), SC_TYPE_HISTORY_STRIP);
  g_clear_pointer ((GtkWidget **) &self->stack, gtk_widget_unparent);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (sc_history_strip_parent_class)->dispose (object);
}

static void
sc_history_strip_class_init (ScHistoryStripClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_history_strip_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/history-strip.ui");
  gtk_widget_class_bind_template_child (widget_class, ScHistoryStrip, stack);
  gtk_widget_class_bind_template_child (widget_class, ScHistoryStrip, list_view);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  signals[ITEM_ACTIVATED] = g_signal_new ("item-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 1, SC_TYPE_HISTORY_ITEM);
}

static void
sc_history_strip_init (ScHistoryStrip *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->store = g_list_store_new (SC_TYPE_HISTORY_ITEM);
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_item), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_item), NULL);
  gtk_list_view_set_factory (self->list_view, factory);
  g_object_unref (factory);
  GtkSelectionModel *selection = GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->store))));
  gtk_list_view_set_model (self->list_view, selection);
  g_object_unref (selection);
  g_signal_connect (self->list_view, "activate", G_CALLBACK (on_activate), self);
  update_page (self);
}

void
sc_history_strip_prepend (ScHistoryStrip *self, ScHistoryItem *item)
{
  g_return_if_fail (SC_IS_HISTORY_STRIP (self));
  g_list_store_insert (self->store, 0, item);
  update_page (self);
}

static gboolean
find (ScHistoryStrip *self, guint64 id, guint *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (ScHistoryItem) item = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      if (sc_history_item_get_id (item) == id)
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

ScHistoryItem *
sc_history_strip_lookup (ScHistoryStrip *self, guint64 id)
{
  g_return_val_if_fail (SC_IS_HISTORY_STRIP (self), NULL);
  guint pos;
  if (!find (self, id, &pos))
    return NULL;
  g_autoptr (ScHistoryItem) item = g_list_model_get_item (G_LIST_MODEL (self->store), pos);
  return item; /* the store keeps it alive */
}

gboolean
sc_history_strip_remove (ScHistoryStrip *self, guint64 id)
{
  g_return_val_if_fail (SC_IS_HISTORY_STRIP (self), FALSE);
  guint pos;
  if (!find (self, id, &pos))
    return FALSE;
  g_list_store_remove (self->store, pos);
  update_page (self);
  return TRUE;
}

guint
sc_history_strip_get_n_items (ScHistoryStrip *self)
{
  g_return_val_if_fail (SC_IS_HISTORY_STRIP (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->store));
}
