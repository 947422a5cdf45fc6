#include "models/name_map.h"

#include <stdio.h>
#include <string.h>

/* Replaces a leading `from` of s by `to`; NULL if s does not start with it. */
static char *
swap_prefix (const char *s, const char *from, const char *to)
{
  size_t n = strlen (from);
  if (strncmp (s, from, n) != 0)
    return NULL;
  return g_strconcat (to, s + n, NULL);
}

/* ---- U-Net -------------------------------------------------------------------------------------- */

static const char *const resnet_pairs[][2] = {
  /* diffusers, LDM */
  { "norm1.", "in_layers.0." }, { "conv1.", "in_layers.2." }, { "time_emb_proj.", "emb_layers.1." },
  { "norm2.", "out_layers.0." }, { "conv2.", "out_layers.3." }, { "conv_shortcut.", "skip_connection." },
};

static char *
resnet_leaf (const char *leaf, int from)
{
  for (size_t i = 0; i < G_N_ELEMENTS (resnet_pairs); i++)
    {
      char *r = swap_prefix (leaf, resnet_pairs[i][from], resnet_pairs[i][!from]);
      if (r)
        return r;
    }
  return NULL;
}

/* Whether the decoder's up block b (diffusers order) has attention: it mirrors level n_levels-1-b. */
static gboolean
up_block_has_attention (const ScUNetConfig *cfg, int b)
{
  int level = cfg->n_levels - 1 - b;
  return level >= 0 && level < cfg->n_levels && cfg->attention[level];
}

char *
sc_name_map_diffusers_unet_to_ldm (const char *name, gpointer user_data)
{
  const ScUNetConfig *cfg = user_data;
  int b, r, consumed = 0;
  char *ldm = NULL;
  g_autofree char *leaf = NULL;

  if ((ldm = swap_prefix (name, "time_embedding.linear_1.", "time_embed.0.")) ||
      (ldm = swap_prefix (name, "time_embedding.linear_2.", "time_embed.2.")) ||
      (ldm = swap_prefix (name, "conv_in.", "input_blocks.0.0.")) ||
      (ldm = swap_prefix (name, "conv_norm_out.", "out.0.")) ||
      (ldm = swap_prefix (name, "conv_out.", "out.2.")) ||
      (ldm = swap_prefix (name, "mid_block.attentions.0.", "middle_block.1.")))
    goto done;
  if (sscanf (name, "mid_block.resnets.%d.%n", &r, &consumed) == 1 && consumed > 0 && r >= 0 && r <= 1)
    {
      g_autofree char *l = resnet_leaf (name + consumed, 0);
      if (l)
        ldm = g_strdup_printf ("middle_block.%d.%s", r * 2, l);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "down_blocks.%d.resnets.%d.%n", &b, &r, &consumed) == 2 && consumed > 0)
    {
      g_autofree char *l = resnet_leaf (name + consumed, 0);
      if (l)
        ldm = g_strdup_printf ("input_blocks.%d.0.%s", 3 * b + r + 1, l);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "down_blocks.%d.attentions.%d.%n", &b, &r, &consumed) == 2 && consumed > 0)
    {
      ldm = g_strdup_printf ("input_blocks.%d.1.%s", 3 * b + r + 1, name + consumed);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "down_blocks.%d.downsamplers.0.conv.%n", &b, &consumed) == 1 && consumed > 0)
    {
      ldm = g_strdup_printf ("input_blocks.%d.0.op.%s", 3 * b + 3, name + consumed);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "up_blocks.%d.resnets.%d.%n", &b, &r, &consumed) == 2 && consumed > 0)
    {
      g_autofree char *l = resnet_leaf (name + consumed, 0);
      if (l)
        ldm = g_strdup_printf ("output_blocks.%d.0.%s", 3 * b + r, l);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "up_blocks.%d.attentions.%d.%n", &b, &r, &consumed) == 2 && consumed > 0)
    {
      ldm = g_strdup_printf ("output_blocks.%d.1.%s", 3 * b + r, name + consumed);
      goto done;
    }
  consumed = 0;
  if (sscanf (name, "up_blocks.%d.upsamplers.0.conv.%n", &b, &consumed) == 1 && consumed > 0)
    {
      ldm = g_strdup_printf ("output_blocks.%d.%d.conv.%s", 3 * b + 2, up_block_has_attention (cfg, b) ? 2 : 1,
                             name + consumed);
      goto done;
    }
done:
  if (!ldm)
    return NULL;
  char *full = g_strconcat (SC_LDM_UNET_PREFIX, ldm, NULL);
  g_free (ldm);
  return full;
}

char *
sc_name_map_ldm_unet_to_diffusers (const char *n, const ScUNetConfig *cfg)
{
  int i, j, consumed = 0;
  char *d;
  if ((d = swap_prefix (n, "time_embed.0.", "time_embedding.linear_1.")) ||
      (d = swap_prefix (n, "time_embed.2.", "time_embedding.linear_2.")) ||
      (d = swap_prefix (n, "input_blocks.0.0.", "conv_in.")) ||
      (d = swap_prefix (n, "out.0.", "conv_norm_out.")) || (d = swap_prefix (n, "out.2.", "conv_out.")) ||
      (d = swap_prefix (n, "middle_block.1.", "mid_block.attentions.0.")))
    return d;
  if (sscanf (n, "middle_block.%d.%n", &i, &consumed) == 1 && consumed > 0 && (i == 0 || i == 2))
    {
      g_autofree char *l = resnet_leaf (n + consumed, 1);
      return l ? g_strdup_printf ("mid_block.resnets.%d.%s", i / 2, l) : NULL;
    }
  consumed = 0;
  if (sscanf (n, "input_blocks.%d.0.op.%n", &i, &consumed) == 1 && consumed > 0)
    return g_strdup_printf ("down_blocks.%d.downsamplers.0.conv.%s", (i - 1) / 3, n + consumed);
  consumed = 0;
  if (sscanf (n, "input_blocks.%d.%d.%n", &i, &j, &consumed) == 2 && consumed > 0 && i >= 1)
    {
      if (j == 1)
        return g_strdup_printf ("down_blocks.%d.attentions.%d.%s", (i - 1) / 3, (i - 1) % 3, n + consumed);
      g_autofree char *l = resnet_leaf (n + consumed, 1);
      return l ? g_strdup_printf ("down_blocks.%d.resnets.%d.%s", (i - 1) / 3, (i - 1) % 3, l) : NULL;
    }
  consumed = 0;
  if (sscanf (n, "output_blocks.%d.%d.conv.%n", &i, &j, &consumed) == 2 && consumed > 0 && j >= 1)
    return g_strdup_printf ("up_blocks.%d.upsamplers.0.conv.%s", i / 3, n + consumed);
  consumed = 0;
  if (sscanf (n, "output_blocks.%d.%d.%n", &i, &j, &consumed) == 2 && consumed > 0)
    {
      if (j == 1 && up_block_has_attention (cfg, i / 3))
        return g_strdup_printf ("up_blocks.%d.attentions.%d.%s", i / 3, i % 3, n + consumed);
      g_autofree char *l = resnet_leaf (n + consumed, 1);
      return l ? g_strdup_printf ("up_blocks.%d.resnets.%d.%s", i / 3, i % 3, l) : NULL;
    }
  return NULL;
}

/* ---- VAE --------------------------------------------------------------------------------------- */

static const char *const vae_attn_pairs[][2] = {
  /* diffusers (new and old names), LDM */
  { "group_norm.", "norm." }, { "to_q.", "q." }, { "to_k.", "k." }, { "to_v.", "v." }, { "to_out.0.", "proj_out." },
  { "query.", "q." }, { "key.", "k." }, { "value.", "v." }, { "proj_attn.", "proj_out." },
};

static char *
vae_leaf_to_ldm (const char *leaf)
{
  char *r = swap_prefix (leaf, "conv_shortcut.", "nin_shortcut.");
  return r ? r : g_strdup (leaf);
}

/* name relative to "encoder." or "decoder." */
static char *
vae_coder_to_ldm (const char *n, gboolean decoder, const ScVaeConfig *cfg)
{
  int i, j, consumed = 0;
  char *d;
  if ((d = swap_prefix (n, "conv_norm_out.", "norm_out.")))
    return d;
  if (g_str_has_prefix (n, "conv_in.") || g_str_has_prefix (n, "conv_out."))
    return g_strdup (n);
  if (sscanf (n, "mid_block.resnets.%d.%n", &i, &consumed) == 1 && consumed > 0)
    {
      g_autofree char *l = vae_leaf_to_ldm (n + consumed);
      return g_strdup_printf ("mid.block_%d.%s", i + 1, l);
    }
  consumed = 0;
  if (sscanf (n, "mid_block.attentions.0.%n", &consumed) == 0 && consumed > 0)
    {
      for (size_t k = 0; k < G_N_ELEMENTS (vae_attn_pairs); k++)
        if ((d = swap_prefix (n + consumed, vae_attn_pairs[k][0], vae_attn_pairs[k][1])))
          {
            char *r = g_strconcat ("mid.attn_1.", d, NULL);
            g_free (d);
            return r;
          }
      return NULL;
    }
  const char *blocks = decoder ? "up_blocks" : "down_blocks";
  const char *ldm_blocks = decoder ? "up" : "down";
  g_autofree char *pat_res = g_strdup_printf ("%s.%%d.resnets.%%d.%%n", blocks);
  g_autofree char *pat_samp = g_strdup_printf ("%s.%%d.%s.0.conv.%%n", blocks, decoder ? "upsamplers" : "downsamplers");
  consumed = 0;
  if (sscanf (n, pat_res, &i, &j, &consumed) == 2 && consumed > 0)
    {
      int level = decoder ? cfg->n_levels - 1 - i : i;
      g_autofree char *l = vae_leaf_to_ldm (n + consumed);
      return g_strdup_printf ("%s.%d.block.%d.%s", ldm_blocks, level, j, l);
    }
  consumed = 0;
  if (sscanf (n, pat_samp, &i, &consumed) == 1 && consumed > 0)
    {
      int level = decoder ? cfg->n_levels - 1 - i : i;
      return g_strdup_printf ("%s.%d.%s.conv.%s", ldm_blocks, level, decoder ? "upsample" : "downsample", n + consumed);
    }
  return NULL;
}

char *
sc_name_map_diffusers_vae_to_ldm (const char *name, gpointer user_data)
{
  const ScVaeConfig *cfg = user_data;
  char *ldm = NULL;
  if (g_str_has_prefix (name, "quant_conv.") || g_str_has_prefix (name, "post_quant_conv."))
    ldm = g_strdup (name);
  else if (g_str_has_prefix (name, "encoder."))
    {
      g_autofree char *r = vae_coder_to_ldm (name + 8, FALSE, cfg);
      ldm = r ? g_strconcat ("encoder.", r, NULL) : NULL;
    }
  else if (g_str_has_prefix (name, "decoder."))
    {
      g_autofree char *r = vae_coder_to_ldm (name + 8, TRUE, cfg);
      ldm = r ? g_strconcat ("decoder.", r, NULL) : NULL;
    }
  if (!ldm)
    return NULL;
  char *full = g_strconcat (SC_LDM_VAE_PREFIX, ldm, NULL);
  g_free (ldm);
  return full;
}

static char *
vae_coder_to_diffusers (const char *n, gboolean decoder, const ScVaeConfig *cfg)
{
  int i, j, consumed = 0;
  char *d;
  if ((d = swap_prefix (n, "norm_out.", "conv_norm_out.")))
    return d;
  if (g_str_has_prefix (n, "conv_in.") || g_str_has_prefix (n, "conv_out."))
    return g_strdup (n);
  if (sscanf (n, "mid.block_%d.%n", &i, &consumed) == 1 && consumed > 0)
    {
      const char *leaf = n + consumed;
      g_autofree char *l = swap_prefix (leaf, "nin_shortcut.", "conv_shortcut.");
      return g_strdup_printf ("mid_block.resnets.%d.%s", i - 1, l ? l : leaf);
    }
  if (g_str_has_prefix (n, "mid.attn_1."))
    {
      const char *leaf = n + strlen ("mid.attn_1.");
      for (size_t k = 0; k < 5; k++)
        if ((d = swap_prefix (leaf, vae_attn_pairs[k][1], vae_attn_pairs[k][0])))
          {
            char *r = g_strconcat ("mid_block.attentions.0.", d, NULL);
            g_free (d);
            return r;
          }
      return NULL;
    }
  const char *ldm_blocks = decoder ? "up" : "down";
  g_autofree char *pat_res = g_strdup_printf ("%s.%%d.block.%%d.%%n", ldm_blocks);
  g_autofree char *pat_samp = g_strdup_printf ("%s.%%d.%s.conv.%%n", ldm_blocks, decoder ? "upsample" : "downsample");
  consumed = 0;
  if (sscanf (n, pat_res, &i, &j, &consumed) == 2 && consumed > 0)
    {
      int b = decoder ? cfg->n_levels - 1 - i : i;
      const char *leaf = n + consumed;
      g_autofree char *l = swap_prefix (leaf, "nin_shortcut.", "conv_shortcut.");
      return g_strdup_printf ("%s.%d.resnets.%d.%s", decoder ? "up_blocks" : "down_blocks", b, j, l ? l : leaf);
    }
  consumed = 0;
  if (sscanf (n, pat_samp, &i, &consumed) == 1 && consumed > 0)
    {
      int b = decoder ? cfg->n_levels - 1 - i : i;
      return g_strdup_printf ("%s.%d.%s.0.conv.%s", decoder ? "up_blocks" : "down_blocks", b,
                              decoder ? "upsamplers" : "downsamplers", n + consumed);
    }
  return NULL;
}

char *
sc_name_map_ldm_vae_to_diffusers (const char *n, const ScVaeConfig *cfg)
{
  if (g_str_has_prefix (n, "quant_conv.") || g_str_has_prefix (n, "post_quant_conv."))
    return g_strdup (n);
  gboolean decoder = g_str_has_prefix (n, "decoder.");
  if (!decoder && !g_str_has_prefix (n, "encoder."))
    return NULL;
  g_autofree char *r = vae_coder_to_diffusers (n + 8, decoder, cfg);
  return r ? g_strconcat (decoder ? "decoder." : "encoder.", r, NULL) : NULL;
}

/* ---- text encoders --------------------------------------------------------------------------------- */

static char *
hf_clip_to_openclip (const char *name)
{
  int l, consumed = 0;
  char *d;
  if (strcmp (name, "text_model.embeddings.token_embedding.weight") == 0)
    return g_strdup ("token_embedding.weight");
  if (strcmp (name, "text_model.embeddings.position_embedding.weight") == 0)
    return g_strdup ("positional_embedding");
  if ((d = swap_prefix (name, "text_model.final_layer_norm.", "ln_final.")))
    return d;
  if (sscanf (name, "text_model.encoder.layers.%d.%n", &l, &consumed) != 1 || consumed == 0)
    return NULL; /* position_ids, text_projection (stored transposed; unused for SD2 conditioning) */
  const char *leaf = name + consumed;
  static const char *const pairs[][2] = {
    { "layer_norm1.", "ln_1." }, { "layer_norm2.", "ln_2." }, { "self_attn.out_proj.", "attn.out_proj." },
    { "mlp.fc1.", "mlp.c_fc." }, { "mlp.fc2.", "mlp.c_proj." },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (pairs); k++)
    if ((d = swap_prefix (leaf, pairs[k][0], pairs[k][1])))
      {
        char *r = g_strdup_printf ("transformer.resblocks.%d.%s", l, d);
        g_free (d);
        return r;
      }
  static const char *const qkv[] = { "self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj." };
  for (int k = 0; k < 3; k++)
    if (g_str_has_prefix (leaf, qkv[k]))
      {
        const char *what = leaf + strlen (qkv[k]);
        if (strcmp (what, "weight") == 0)
          return g_strdup_printf ("transformer.resblocks.%d.attn.in_proj_weight#%d", l, k);
        if (strcmp (what, "bias") == 0)
          return g_strdup_printf ("transformer.resblocks.%d.attn.in_proj_bias#%d", l, k);
      }
  return NULL;
}

char *
sc_name_map_hf_clip_to_ldm (const char *name, gpointer user_data)
{
  const ScClipTextConfig *cfg = user_data;
  if (g_str_has_suffix (name, "position_ids"))
    return NULL;
  if (cfg->style == SC_TEXT_CLIP_HF)
    return g_str_has_prefix (name, "text_model.") ? g_strconcat (SC_LDM_CLIP_PREFIX, name, NULL) : NULL;
  g_autofree char *oc = hf_clip_to_openclip (name);
  return oc ? g_strconcat (SC_LDM_OPENCLIP_PREFIX, oc, NULL) : NULL;
}
