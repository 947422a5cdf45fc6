#include "models/make_model.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "models/clip_text.h"
#include "models/name_map.h"
#include "models/unet.h"
#include "models/vae.h"
#include "models/weights.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* Builds every component with one recording random source; returns the records (name, shape, data). */
static ScWeightSource *
build_random (const ScArchConfig *arch, uint64_t seed, GError **error)
{
  ScWeightSource *src = sc_weight_source_new_random (seed);
  sc_weight_source_set_keep_data (src, TRUE);
  const char *text_prefix = arch->text.style == SC_TEXT_CLIP_HF ? SC_LDM_CLIP_PREFIX "text_model."
                                                                : SC_LDM_OPENCLIP_PREFIX;
  /* Each model is freed right after building: the records keep the values. */
  ScUNet *unet = sc_unet_new (&arch->unet, src, SC_LDM_UNET_PREFIX, error);
  if (!unet)
    goto fail;
  sc_unet_free (unet);
  ScVae *vae = sc_vae_new (&arch->vae, src, SC_LDM_VAE_PREFIX, TRUE, TRUE, error);
  if (!vae)
    goto fail;
  sc_vae_free (vae);
  ScClipText *te = sc_clip_text_new (&arch->text, src, text_prefix, error);
  if (!te)
    goto fail;
  sc_clip_text_free (te);
  if (!sc_clip_text_declare_unused (&arch->text, src, text_prefix, error))
    goto fail;
  return src;
fail:
  sc_weight_source_free (src);
  return NULL;
}

static void
writer_add_record (ScSafetensorsWriter *w, const char *name, const ScWeightRecord *r, ScDType dtype)
{
  /* f32 data is referenced (the records outlive the writer); other dtypes get a converted copy. */
  if (dtype == SC_DTYPE_F32)
    sc_safetensors_writer_add (w, name, dtype, r->ndim, r->shape, r->data, NULL);
  else
    sc_safetensors_writer_add_f32 (w, name, dtype, r->ndim, r->shape, r->data);
}

static void
set_common_metadata (ScSafetensorsWriter *w, const ScArchConfig *arch, uint64_t seed)
{
  g_autofree char *seed_s = g_strdup_printf ("%" G_GUINT64_FORMAT, seed);
  sc_safetensors_writer_set_metadata (w, "generator", "scedit make-model");
  sc_safetensors_writer_set_metadata (w, "arch", arch->name);
  sc_safetensors_writer_set_metadata (w, "seed", seed_s);
}

static gboolean
write_ldm (const ScArchConfig *arch, ScWeightSource *src, uint64_t seed, ScDType dtype, const char *path,
           GError **error)
{
  ScSafetensorsWriter *w = sc_safetensors_writer_new ();
  set_common_metadata (w, arch, seed);
  const GPtrArray *records = sc_weight_source_records (src);
  for (guint i = 0; i < records->len; i++)
    {
      const ScWeightRecord *r = records->pdata[i];
      writer_add_record (w, r->name, r, dtype);
    }
  gboolean ok = sc_safetensors_writer_save (w, path, error);
  sc_safetensors_writer_free (w);
  return ok;
}

/* ---- diffusers folder ------------------------------------------------------------------------------ */

char *
sc_diffusers_unet_config_json (const ScArchConfig *arch)
{
  const ScUNetConfig *u = &arch->unet;
  GString *s = g_string_new ("{\n  \"_class_name\": \"UNet2DConditionModel\",\n");
  g_string_append_printf (s, "  \"in_channels\": %d,\n  \"out_channels\": %d,\n", u->in_channels, u->out_channels);
  g_string_append (s, "  \"block_out_channels\": [");
  for (int l = 0; l < u->n_levels; l++)
    g_string_append_printf (s, "%s%d", l ? ", " : "", u->model_channels * u->channel_mult[l]);
  g_string_append (s, "],\n  \"down_block_types\": [");
  for (int l = 0; l < u->n_levels; l++)
    g_string_append_printf (s, "%s\"%s\"", l ? ", " : "", u->attention[l] ? "CrossAttnDownBlock2D" : "DownBlock2D");
  g_string_append (s, "],\n  \"up_block_types\": [");
  for (int b = 0; b < u->n_levels; b++)
    g_string_append_printf (s, "%s\"%s\"", b ? ", " : "",
                            u->attention[u->n_levels - 1 - b] ? "CrossAttnUpBlock2D" : "UpBlock2D");
  g_string_append_printf (s, "],\n  \"layers_per_block\": %d,\n", u->num_res_blocks);
  g_string_append_printf (s, "  \"cross_attention_dim\": %d,\n", u->context_dim);
  /* diffusers calls the head count "attention_head_dim" (stable-diffusion.md §1.1). */
  if (u->head_dim > 0)
    {
      g_string_append (s, "  \"attention_head_dim\": [");
      for (int l = 0; l < u->n_levels; l++)
        g_string_append_printf (s, "%s%d", l ? ", " : "", u->model_channels * u->channel_mult[l] / u->head_dim);
      g_string_append (s, "],\n");
    }
  else
    g_string_append_printf (s, "  \"attention_head_dim\": %d,\n", u->num_heads);
  g_string_append_printf (s, "  \"use_linear_projection\": %s,\n", u->linear_proj ? "true" : "false");
  g_string_append_printf (s, "  \"norm_num_groups\": %d,\n  \"norm_eps\": 1e-05,\n", u->norm_groups);
  g_string_append_printf (s, "  \"upcast_attention\": %s,\n", arch->family == SC_FAMILY_SD2 ? "true" : "false");
  g_string_append (s, "  \"flip_sin_to_cos\": true,\n  \"freq_shift\": 0,\n  \"act_fn\": \"silu\",\n");
  g_string_append (s, "  \"center_input_sample\": false,\n  \"downsample_padding\": 1,\n  \"mid_block_scale_factor\": 1,\n");
  g_string_append_printf (s, "  \"sample_size\": %d\n}\n", arch->arch == SC_ARCH_SD21 ? 96 : 64);
  return g_string_free (s, FALSE);
}

char *
sc_diffusers_vae_config_json (const ScArchConfig *arch)
{
  const ScVaeConfig *v = &arch->vae;
  GString *s = g_string_new ("{\n  \"_class_name\": \"AutoencoderKL\",\n");
  g_string_append_printf (s, "  \"in_channels\": %d,\n  \"out_channels\": %d,\n", v->in_channels, v->out_channels);
  g_string_append (s, "  \"block_out_channels\": [");
  for (int l = 0; l < v->n_levels; l++)
    g_string_append_printf (s, "%s%d", l ? ", " : "", v->ch * v->ch_mult[l]);
  g_string_append (s, "],\n  \"down_block_types\": [");
  for (int l = 0; l < v->n_levels; l++)
    g_string_append_printf (s, "%s\"DownEncoderBlock2D\"", l ? ", " : "");
  g_string_append (s, "],\n  \"up_block_types\": [");
  for (int l = 0; l < v->n_levels; l++)
    g_string_append_printf (s, "%s\"UpDecoderBlock2D\"", l ? ", " : "");
  g_string_append_printf (s, "],\n  \"layers_per_block\": %d,\n  \"latent_channels\": %d,\n", v->num_res_blocks,
                          v->z_channels);
  g_string_append_printf (s, "  \"norm_num_groups\": %d,\n  \"act_fn\": \"silu\",\n", v->norm_groups);
  g_string_append_printf (s, "  \"scaling_factor\": %.5f,\n  \"sample_size\": %d\n}\n", v->scale_factor,
                          arch->arch == SC_ARCH_SD21 ? 768 : 512);
  return g_string_free (s, FALSE);
}

char *
sc_diffusers_text_config_json (const ScArchConfig *arch)
{
  const ScClipTextConfig *t = &arch->text;
  GString *s = g_string_new ("{\n  \"architectures\": [\"CLIPTextModel\"],\n  \"model_type\": \"clip_text_model\",\n");
  g_string_append_printf (s, "  \"vocab_size\": %d,\n  \"max_position_embeddings\": %d,\n", t->vocab_size,
                          t->max_positions);
  g_string_append_printf (s, "  \"hidden_size\": %d,\n  \"intermediate_size\": %d,\n", t->width, t->mlp_dim);
  /* diffusers drops the unused last layer(s) of SD2's text tower: the folder stores layers_used. */
  g_string_append_printf (s, "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n", t->heads,
                          t->layers_used);
  g_string_append_printf (s, "  \"hidden_act\": \"%s\",\n", t->quick_gelu ? "quick_gelu" : "gelu");
  g_string_append_printf (s, "  \"projection_dim\": %d,\n", t->width);
  g_string_append (s, "  \"layer_norm_eps\": 1e-05,\n  \"bos_token_id\": 49406,\n  \"eos_token_id\": 49407,\n");
  g_string_append_printf (s, "  \"pad_token_id\": %d,\n  \"torch_dtype\": \"float32\"\n}\n", t->pad_id);
  return g_string_free (s, FALSE);
}

static char *
scheduler_config_json (const ScArchConfig *arch)
{
  return g_strdup_printf ("{\n  \"_class_name\": \"DDIMScheduler\",\n  \"beta_schedule\": \"scaled_linear\",\n"
                          "  \"beta_start\": 0.00085,\n  \"beta_end\": 0.012,\n  \"num_train_timesteps\": 1000,\n"
                          "  \"steps_offset\": 1,\n  \"timestep_spacing\": \"leading\",\n"
                          "  \"set_alpha_to_one\": false,\n  \"clip_sample\": false,\n"
                          "  \"prediction_type\": \"%s\"\n}\n",
                          arch->prediction == SC_PREDICTION_V ? "v_prediction" : "epsilon");
}

static const char model_index_json[] =
  "{\n  \"_class_name\": \"StableDiffusionPipeline\",\n"
  "  \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],\n"
  "  \"vae\": [\"diffusers\", \"AutoencoderKL\"],\n"
  "  \"text_encoder\": [\"transformers\", \"CLIPTextModel\"],\n"
  "  \"tokenizer\": [\"transformers\", \"CLIPTokenizer\"],\n"
  "  \"scheduler\": [\"diffusers\", \"DDIMScheduler\"],\n"
  "  \"safety_checker\": [null, null],\n  \"feature_extractor\": [null, null]\n}\n";

static gboolean
write_text (const char *dir, const char *leaf, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (dir, leaf, NULL);
  return sc_atomic_write (path, text, strlen (text), error);
}

/* OpenCLIP canonical (without prefix) → HF CLIPTextModel names, for SD2 text encoders. Packed q/k/v are
 * split by the caller. NULL: not stored in diffusers (unused layers, text_projection, logit_scale). */
static char *
openclip_to_hf (const char *n, const ScClipTextConfig *t, int *qkv_packed)
{
  *qkv_packed = 0;
  if (strcmp (n, "token_embedding.weight") == 0)
    return g_strdup ("text_model.embeddings.token_embedding.weight");
  if (strcmp (n, "positional_embedding") == 0)
    return g_strdup ("text_model.embeddings.position_embedding.weight");
  if (g_str_has_prefix (n, "ln_final."))
    return g_strconcat ("text_model.final_layer_norm.", n + 9, NULL);
  int l, consumed = 0;
  if (sscanf (n, "transformer.resblocks.%d.%n", &l, &consumed) != 1 || consumed == 0 || l >= t->layers_used)
    return NULL;
  const char *leaf = n + consumed;
  static const char *const pairs[][2] = {
    { "ln_1.", "layer_norm1." }, { "ln_2.", "layer_norm2." }, { "attn.out_proj.", "self_attn.out_proj." },
    { "mlp.c_fc.", "mlp.fc1." }, { "mlp.c_proj.", "mlp.fc2." },
  };
  for (size_t k = 0; k < G_N_ELEMENTS (pairs); k++)
    if (g_str_has_prefix (leaf, pairs[k][0]))
      return g_strdup_printf ("text_model.encoder.layers.%d.%s%s", l, pairs[k][1], leaf + strlen (pairs[k][0]));
  if (strcmp (leaf, "attn.in_proj_weight") == 0 || strcmp (leaf, "attn.in_proj_bias") == 0)
    {
      *qkv_packed = 1;
      return g_strdup_printf ("text_model.encoder.layers.%d.self_attn.%%s_proj.%s",
                              l, g_str_has_suffix (leaf, "weight") ? "weight" : "bias");
    }
  return NULL;
}

static gboolean
write_diffusers (const ScArchConfig *arch, ScWeightSource *src, uint64_t seed, ScDType dtype, const char *dir,
                 GError **error)
{
  static const char *const subdirs[] = { "unet", "vae", "text_encoder", "scheduler" };
  for (size_t i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (dir, subdirs[i], NULL);
      if (g_mkdir_with_parents (d, 0755) != 0)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_IO, "Could not create folder %s: %s", d, g_strerror (errno));
          return FALSE;
        }
    }
  ScSafetensorsWriter *wu = sc_safetensors_writer_new ();
  ScSafetensorsWriter *wv = sc_safetensors_writer_new ();
  ScSafetensorsWriter *wt = sc_safetensors_writer_new ();
  set_common_metadata (wu, arch, seed);
  set_common_metadata (wv, arch, seed);
  set_common_metadata (wt, arch, seed);
  GPtrArray *scratch = g_ptr_array_new_with_free_func (g_free); /* names the writers reference */
  const GPtrArray *records = sc_weight_source_records (src);
  gboolean ok = TRUE;
  for (guint i = 0; i < records->len && ok; i++)
    {
      const ScWeightRecord *r = records->pdata[i];
      char *name = NULL;
      if (g_str_has_prefix (r->name, SC_LDM_UNET_PREFIX))
        {
          name = sc_name_map_ldm_unet_to_diffusers (r->name + strlen (SC_LDM_UNET_PREFIX), &arch->unet);
          if (name)
            writer_add_record (wu, name, r, dtype);
        }
      else if (g_str_has_prefix (r->name, SC_LDM_VAE_PREFIX))
        {
          name = sc_name_map_ldm_vae_to_diffusers (r->name + strlen (SC_LDM_VAE_PREFIX), &arch->vae);
          if (name)
            {
              /* diffusers stores the VAE attention 1×1 convs as linear weights [C, C] */
              ScWeightRecord sq = *r;
              if (strstr (name, "mid_block.attentions.") && sq.ndim == 4)
                sq.ndim = 2;
              writer_add_record (wv, name, &sq, dtype);
            }
        }
      else if (g_str_has_prefix (r->name, SC_LDM_CLIP_PREFIX))
        {
          name = g_strdup (r->name + strlen (SC_LDM_CLIP_PREFIX));
          writer_add_record (wt, name, r, dtype);
        }
      else if (g_str_has_prefix (r->name, SC_LDM_OPENCLIP_PREFIX))
        {
          int packed;
          name = openclip_to_hf (r->name + strlen (SC_LDM_OPENCLIP_PREFIX), &arch->text, &packed);
          if (name && packed)
            {
              static const char *const qkv[] = { "q", "k", "v" };
              int64_t rows = r->shape[0] / 3, row_numel = r->ndim == 2 ? r->shape[1] : 1;
              for (int k = 0; k < 3; k++)
                {
                  char *part = g_strdup_printf (name, qkv[k]);
                  ScWeightRecord slice = *r;
                  slice.shape[0] = rows;
                  slice.data = r->data + k * rows * row_numel;
                  writer_add_record (wt, part, &slice, dtype);
                  g_ptr_array_add (scratch, part);
                }
            }
          else if (name)
            writer_add_record (wt, name, r, dtype);
        }
      if (!name && !g_str_has_prefix (r->name, SC_LDM_OPENCLIP_PREFIX))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "No diffusers name for tensor “%s”", r->name);
          ok = FALSE;
        }
      if (name)
        g_ptr_array_add (scratch, name);
    }

  g_autofree char *unet_path = g_build_filename (dir, "unet", "diffusion_pytorch_model.safetensors", NULL);
  g_autofree char *vae_path = g_build_filename (dir, "vae", "diffusion_pytorch_model.safetensors", NULL);
  g_autofree char *text_path = g_build_filename (dir, "text_encoder", "model.safetensors", NULL);
  g_autofree char *unet_cfg = sc_diffusers_unet_config_json (arch);
  g_autofree char *vae_cfg = sc_diffusers_vae_config_json (arch);
  g_autofree char *text_cfg = sc_diffusers_text_config_json (arch);
  g_autofree char *sched_cfg = scheduler_config_json (arch);
  ok = ok && sc_safetensors_writer_save (wu, unet_path, error) && sc_safetensors_writer_save (wv, vae_path, error) &&
       sc_safetensors_writer_save (wt, text_path, error) && write_text (dir, "unet/config.json", unet_cfg, error) &&
       write_text (dir, "vae/config.json", vae_cfg, error) &&
       write_text (dir, "text_encoder/config.json", text_cfg, error) &&
       write_text (dir, "scheduler/scheduler_config.json", sched_cfg, error) &&
       write_text (dir, "model_index.json", model_index_json, error);
  sc_safetensors_writer_free (wu);
  sc_safetensors_writer_free (wv);
  sc_safetensors_writer_free (wt);
  g_ptr_array_unref (scratch);
  return ok;
}

gboolean
sc_make_model (ScArch arch_id, uint64_t seed, ScLayout layout, ScDType dtype, const char *out_path, GError **error)
{
  if (dtype != SC_DTYPE_F32 && dtype != SC_DTYPE_F16 && dtype != SC_DTYPE_BF16)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Weights can be written as f32, f16 or bf16 only");
      return FALSE;
    }
  const ScArchConfig *arch = sc_arch_config (arch_id);
  ScWeightSource *src = build_random (arch, seed, error);
  if (!src)
    return FALSE;
  gboolean ok = layout == SC_LAYOUT_LDM ? write_ldm (arch, src, seed, dtype, out_path, error)
                                        : write_diffusers (arch, src, seed, dtype, out_path, error);
  sc_weight_source_free (src);
  return ok;
}
