#define G_LOG_DOMAIN "scedit-panel"

#include "sc-create-panel.h"

#include "sc-conditions-panel.h"

#include <adwaita.h>

struct _ScCreatePanel {
  GtkWidget parent_instance;
  GtkWidget *box;
  GtkTextView *prompt_view;
  GtkTextView *negative_view;
  GtkSpinButton *seed_spin;
  GtkToggleButton *seed_lock;
  GtkSpinButton *steps_spin;
  GtkSpinButton *cfg_spin;
  GtkSpinButton *width_spin;
  GtkSpinButton *height_spin;
  AdwComboRow *sampler_row;
  ScConditionsPanel *conditions_panel;
  ScDocument *document;
  GPtrArray *bindings;
};

G_DEFINE_FINAL_TYPE (ScCreatePanel, sc_create_panel, GTK_TYPE_WIDGET)

static void
unbind_all (ScCreatePanel *self)
{
  for (guint i = 0; i < self->bindings->len; i++)
    g_binding_unbind (g_ptr_array_index (self->bindings, i));
  g_ptr_array_set_size (self->bindings, 0);
}

static void
bind (ScCreatePanel *self, const char *doc_prop, gpointer target, const char *target_prop)
{
  GBinding *b = g_object_bind_property (self->document, doc_prop, target, target_prop,
                                        G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_ptr_array_add (self->bindings, b);
}

/* The lock shows its state: an open padlock while every render gets a new seed. */
static void
on_lock_toggled (GtkToggleButton *button, ScCreatePanel *self)
{
  gboolean locked = gtk_toggle_button_get_active (button);
  gtk_button_set_icon_name (GTK_BUTTON (button), locked ? "changes-prevent-symbolic" : "changes-allow-symbolic");
}

static void
sc_create_panel_dispose (GObject *object)
{
  ScCreatePanel *self = SC_CREATE_PANEL (object);
  if (self->document)
    unbind_all (self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), SC_TYPE_CREATE_PANEL);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  G_OBJECT_CLASS (sc_create_panel_parent_class)->dispose (object);
}

static void
sc_create_panel_finalize (GObject *object)
{
  g_ptr_array_unref (SC_CREATE_PANEL (object)->bindings);
  G_OBJECT_CLASS (sc_create_panel_parent_class)->finalize (object);
}

static void
sc_create_panel_class_init (ScCreatePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = sc_create_panel_dispose;
  object_class->finalize = sc_create_panel_finalize;
  g_type_ensure (SC_TYPE_CONDITIONS_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/scedit/Studio/ui/create-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, box);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, prompt_view);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, negative_view);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, seed_lock);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, steps_spin);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, cfg_spin);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, width_spin);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, height_spin);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, sampler_row);
  gtk_widget_class_bind_template_child (widget_class, ScCreatePanel, conditions_panel);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
sc_create_panel_init (ScCreatePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->bindings = g_ptr_array_new ();
  g_signal_connect (self->seed_lock, "toggled", G_CALLBACK (on_lock_toggled), self);
}

void
sc_create_panel_set_document (ScCreatePanel *self, ScDocument *document)
{
  g_return_if_fail (SC_IS_CREATE_PANEL (self));
  if (self->document)
    unbind_all (self);
  g_set_object (&self->document, document);
  sc_conditions_panel_set_document (self->conditions_panel, document);
  if (!document)
    return;
  bind (self, "prompt", gtk_text_view_get_buffer (self->prompt_view), "text");
  bind (self, "negative-prompt", gtk_text_view_get_buffer (self->negative_view), "text");
  bind (self, "seed", self->seed_spin, "value");
  bind (self, "seed-locked", self->seed_lock, "active");
  bind (self, "steps", self->steps_spin, "value");
  bind (self, "cfg-scale", self->cfg_spin, "value");
  bind (self, "width", self->width_spin, "value");
  bind (self, "height", self->height_spin, "value");
  bind (self, "sampler", self->sampler_row, "selected");
}

void
sc_create_panel_focus_prompt (ScCreatePanel *self)
{
  g_return_if_fail (SC_IS_CREATE_PANEL (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->prompt_view));
}
