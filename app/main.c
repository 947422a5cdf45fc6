/* scedit-studio: the desktop app's entry point — translations, then the application. */
#include "sc-application.h"
#include "sc-config.h"
#include "core/parallel.h"

#include <glib/gi18n.h>
#include <locale.h>

int
main (int argc, char **argv)
{
  sc_parallel_prepare_process (argv); /* sleeping OpenMP workers: see core/parallel.c */
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, SC_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("SCEdit Studio"));
  g_autoptr (ScApplication) app = sc_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
