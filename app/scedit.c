/* scedit — the command-line face of the engine: generate images, inspect and make models, run one
 * component on reference inputs, benchmark. The command names and output formats are a contract
 * (outside checks rely on them): change them only together with the issues that define them. */
#include "cli.h"

#include <locale.h>
#include <stdio.h>

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "generate", cmd_generate, "make an image from a prompt (txt2img, img2img)" },
  { "tokenize", cmd_tokenize, "print CLIP token ids" },
  { "make-model", cmd_make_model, "write a model with deterministic random weights" },
  { "make-tuner", cmd_make_tuner, "write an SCEdit tuner with deterministic random weights" },
  { "eval", cmd_eval, "run one component on reference inputs (unet, text, vae-encode, vae-decode)" },
  { "info", cmd_info, "describe a model file or folder" },
  { "bench", cmd_bench, "time a component (median ms, peak RSS)" },
  { "cond", cmd_cond, "extract a condition image (canny, color, depth, sketch, inpaint)" },
  { "train", cmd_train, "train a style SC-Tuner on a folder of pictures" },
};

static void
print_usage (FILE *f)
{
  fprintf (f, "Usage: scedit COMMAND [OPTIONS]\n\nCommands:\n");
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nRun “scedit COMMAND --help” for a command's options.\n");
}

int
main (int argc, char **argv)
{
  sc_parallel_prepare_process (argv);
  setlocale (LC_ALL, "");
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("scedit %s\n", SC_VERSION);
      return 0;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "scedit: unknown command “%s”\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}

