/* `scedit tokenize`: the 77 CLIP token ids of each text, one line per text. */
#include "cli.h"

int
cmd_tokenize (int argc, char **argv)
{
  g_autofree char *kind = NULL, *vocab = NULL;
  GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "sd1 (pad with 49407, default) or sd2 (pad with 0)", "sd1|sd2" },
    { "vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab, "BPE file (.txt.gz), merges.txt or tokenizer folder", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("TEXT… — print the 77 CLIP token ids of each text");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  if (argc < 2)
    return cli_usage_error (ctx, "tokenize needs at least one text");
  int32_t pad;
  if (!kind || g_str_equal (kind, "sd1"))
    pad = SC_CLIP_EOS;
  else if (g_str_equal (kind, "sd2"))
    pad = 0;
  else
    return cli_usage_error (ctx, "--kind must be sd1 or sd2");
  g_autoptr (ScClipTokenizer) tok = sc_model_find_tokenizer (NULL, vocab, NULL, &error);
  if (!tok)
    return cli_fail (error);
  for (int i = 1; i < argc; i++)
    {
      int32_t ids[SC_CLIP_CONTEXT];
      sc_clip_tokenizer_encode_padded (tok, argv[i], pad, ids);
      GString *line = g_string_new (NULL);
      for (int k = 0; k < SC_CLIP_CONTEXT; k++)
        g_string_append_printf (line, "%s%d", k ? " " : "", ids[k]);
      printf ("%s\n", line->str);
      g_string_free (line, TRUE);
    }
  return 0;
}

/* ---- make-model --------------------------------------------------------------------------------------- */
