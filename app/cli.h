/* Shared by the `scedit` subcommands: error reporting and option parsing. */
#pragma once
#include "scedit.h"
#include "sc-config.h"

#include <stdio.h>

/* Prints "scedit: error: MESSAGE" and returns exit status 1. Frees error. */
int cli_fail (GError *error);
/* Prints MSG and the command's help, returns exit status 2. */
int cli_usage_error (GOptionContext *ctx, const char *msg);
gboolean cli_parse (GOptionContext *ctx, int *argc, char ***argv, GError **error);
/* A whole-string number. */
gboolean cli_parse_float (const char *s, double *out);
/* "PATH[:VALUE]" → PATH and VALUE (default when there is no numeric suffix). Caller frees *path. */
void cli_split_value (const char *arg, double default_value, char **path, double *value);

/* The subcommands: argv[0] is the subcommand's name. */
int cmd_generate (int argc, char **argv);
int cmd_tokenize (int argc, char **argv);
int cmd_make_model (int argc, char **argv);
int cmd_make_tuner (int argc, char **argv);
int cmd_info (int argc, char **argv);
int cmd_eval (int argc, char **argv);
int cmd_bench (int argc, char **argv);
int cmd_cond (int argc, char **argv);
int cmd_train (int argc, char **argv);
