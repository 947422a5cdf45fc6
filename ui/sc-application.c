#define G_LOG_DOMAIN "scedit-application"

#include "sc-application.h"

#include "sc-config.h"
#include "sc-preferences-window.h"
#include "sc-window.h"

#include <glib/gi18n.h>

struct _ScApplication {
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (ScApplication, sc_application, ADW_TYPE_APPLICATION)

static ScWindow *
get_window (ScApplication *self)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (SC_IS_WINDOW (active))
    return SC_WINDOW (active);
  return sc_window_new (GTK_APPLICATION (self));
}

static void
sc_application_activate (GApplication *app)
{
  gtk_window_present (GTK_WINDOW (get_window (SC_APPLICATION (app))));
}

gboolean
sc_application_is_model_path (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return TRUE; /* a diffusers folder */
  return g_str_has_suffix (path, ".safetensors") || g_str_has_suffix (path, ".SAFETENSORS");
}

static void
sc_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  ScWindow *window = get_window (SC_APPLICATION (app));
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path && sc_application_is_model_path (path))
        sc_window_load_model (window, path);
      else
        sc_window_open_image (window, files[i]);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static void
show_preferences (GSimpleAction *action, GVariant *param, gpointer user)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user));
  g_autoptr (GSettingsSchema) schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (),
                                                                         SC_APP_ID, TRUE);
  if (!schema)
    {
      if (SC_IS_WINDOW (parent))
        sc_window_toast (SC_WINDOW (parent), _("Preferences are not available: the settings schema is not installed"));
      return;
    }
  g_autoptr (GSettings) settings = g_settings_new (SC_APP_ID);
  ScPreferencesWindow *prefs = sc_preferences_window_new (parent, settings);
  gtk_window_set_application (GTK_WINDOW (prefs), GTK_APPLICATION (user));
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
show_about (GSimpleAction *action, GVariant *param, gpointer user)
{
  const char *developers[] = { _("The SCEdit Studio developers"), NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user));
  GtkWidget *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                                   "transient-for", parent,
                                   "application-name", _("SCEdit Studio"),
                                   "application-icon", SC_APP_ID,
                                   "version", SC_VERSION,
                                   "comments", _("Create images from text on your own computer"),
                                   "developers", developers,
                                   "license-type", GTK_LICENSE_APACHE_2_0,
                                   /* Translators: your name(s), one per line */
                                   "translator-credits", _("translator-credits"),
                                   NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
quit (GSimpleAction *action, GVariant *param, gpointer user)
{
  g_application_quit (G_APPLICATION (user));
}

static const GActionEntry app_actions[] = {
  { .name = "preferences", .activate = show_preferences },
  { .name = "about", .activate = show_about },
  { .name = "quit", .activate = quit },
};

static void
sc_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (sc_application_parent_class)->startup (app);
  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  static const struct {
    const char *action;
    const char *accels[3];
  } accels[] = {
    { "win.generate", { "<Control>Return", "<Control>KP_Enter", NULL } },
    { "win.cancel", { "Escape", NULL } },
    { "win.reroll-seed", { "<Control>r", NULL } },
    { "win.open", { "<Control>o", NULL } },
    { "win.save", { "<Control>s", NULL } },
    { "win.choose-model", { "<Control>m", NULL } },
    { "app.preferences", { "<Control>comma", NULL } },
    { "app.quit", { "<Control>q", NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);
}

static void
sc_application_class_init (ScApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);
  app_class->activate = sc_application_activate;
  app_class->open = sc_application_open;
  app_class->startup = sc_application_startup;
}

static void
sc_application_init (ScApplication *self)
{
}

ScApplication *
sc_application_new (void)
{
  return g_object_new (SC_TYPE_APPLICATION,
                       "application-id", SC_APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/scedit/Studio",
                       NULL);
}
