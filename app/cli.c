/* Error reporting and option parsing shared by the subcommands. */
#include "cli.h"

int
cli_fail (GError *error)
{
  g_printerr ("scedit: error: %s\n", error ? error->message : "unknown error");
  g_clear_error (&error);
  return 1;
}

int
cli_usage_error (GOptionContext *ctx, const char *msg)
{
  g_printerr ("scedit: %s\n\n", msg);
  g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
  g_printerr ("%s", help);
  return 2;
}

gboolean
cli_parse (GOptionContext *ctx, int *argc, char ***argv, GError **error)
{
  return g_option_context_parse (ctx, argc, argv, error);
}
