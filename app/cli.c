/* Error reporting and option parsing shared by the subcommands. */
#include "cli.h"

#include <string.h>

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

gboolean
cli_parse_float (const char *s, double *out)
{
  char *end = NULL;
  *out = g_ascii_strtod (s, &end);
  return end && end != s && *end == '\0';
}

void
cli_split_value (const char *arg, double default_value, char **path, double *value)
{
  *path = g_strdup (arg);
  *value = default_value;
  char *colon = strrchr (*path, ':');
  if (colon && cli_parse_float (colon + 1, value))
    *colon = '\0';
  else
    *value = default_value;
}
