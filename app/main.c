/* scedit-studio: the desktop app's entry point — translations, then the application. */
#include "sc-application.h"
#include "sc-config.h"
#include "core/parallel.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <locale.h>

/* Run from the build tree (the README's first command) the schema is not installed: use the one the build
 * compiled, so preferences work there too. An installed schema always wins. */
static void
use_build_tree_schema (void)
{
  /* Look for the installed schema file itself: asking GSettings would fix its search path too early. */
  g_autofree char *leaf = g_strconcat (SC_APP_ID, ".gschema.xml", NULL);
  g_autofree char *user = g_build_filename (g_get_user_data_dir (), "glib-2.0", "schemas", leaf, NULL);
  gboolean installed = g_file_test (user, G_FILE_TEST_EXISTS);
  for (const char *const *d = g_get_system_data_dirs (); *d && !installed; d++)
    {
      g_autofree char *path = g_build_filename (*d, "glib-2.0", "schemas", leaf, NULL);
      installed = g_file_test (path, G_FILE_TEST_EXISTS);
    }
  g_autofree char *compiled = g_build_filename (SC_BUILD_SCHEMA_DIR, "gschemas.compiled", NULL);
  if (!installed && !g_getenv ("GSETTINGS_SCHEMA_DIR") && g_file_test (compiled, G_FILE_TEST_IS_REGULAR))
    g_setenv ("GSETTINGS_SCHEMA_DIR", SC_BUILD_SCHEMA_DIR, TRUE);
}

int
main (int argc, char **argv)
{
  sc_parallel_prepare_process (argv); /* sleeping OpenMP workers: see core/parallel.c */
  setlocale (LC_ALL, "");
  use_build_tree_schema ();
  bindtextdomain (GETTEXT_PACKAGE, SC_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("SCEdit Studio"));
  g_autoptr (ScApplication) app = sc_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
