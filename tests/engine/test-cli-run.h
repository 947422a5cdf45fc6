/* Running the `scedit` CLI from engine tests: the program is $SC_SCEDIT (set by meson), stdout and stderr
 * are captured, and a run killed by a signal shows its stderr (a sanitizer report, an abort message). */
#pragma once
#include <glib.h>
#include <stdarg.h>
#include <sys/wait.h>

typedef struct {
  int status; /* exit status; -1 when killed */
  char *out, *err;
} ScTestRun;

/* args: the arguments after "scedit", NULL-terminated. */
static inline ScTestRun
sc_test_run_scedit_argv (const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("SC_SCEDIT"));
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  ScTestRun r = { 0 };
  GError *error = NULL;
  int wait_status = 0;
  g_assert_nonnull (argv->pdata[0]);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                               &wait_status, &error));
  g_assert_no_error (error);
  r.status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  if (r.status < 0)
    g_printerr ("scedit %s was killed by signal %d; its stderr:\n%s\n", args[0] ? args[0] : "",
                WIFSIGNALED (wait_status) ? WTERMSIG (wait_status) : 0, r.err);
  g_ptr_array_unref (argv);
  return r;
}

/* The same with the arguments listed, NULL-terminated. */
static inline ScTestRun
sc_test_run_scedit (const char *first, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ScTestRun r = sc_test_run_scedit_argv ((const char *const *) args->pdata);
  g_ptr_array_unref (args);
  return r;
}

static inline void
sc_test_run_clear (ScTestRun *r)
{
  g_free (r->out);
  g_free (r->err);
}
