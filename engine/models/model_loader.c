#include "models/model_loader.h"
#include "core/error.h"
#include "io/torch_file.h"
#include "models/name_map.h"
#include "sc-config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define UNET_CONV_IN SC_LDM_UNET_PREFIX "input_blocks.0.0.weight"
#define UNET_ATTN2_K SC_LDM_UNET_PREFIX "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
#define UNET_NORM1_BIAS SC_LDM_UNET_PREFIX "output_blocks.11.1.transformer_blocks.0.norm1.bias"
#define VAE_ENC_CONV_IN SC_LDM_VAE_PREFIX "encoder.conv_in.weight"
#define VAE_DEC_CONV_OUT SC_LDM_VAE_PREFIX "decoder.conv_out.weight"
#define CLIP_TOKEN_EMB SC_LDM_CLIP_PREFIX "text_model.embeddings.token_embedding.weight"
#define OPENCLIP_TOKEN_EMB SC_LDM_OPENCLIP_PREFIX "token_embedding.weight"

/* All our presets share the SD topology, so the name maps can use the SD1.5 layout whatever the width. */
static gpointer
map_cfg_unet (void)
{
  return (gpointer) &sc_arch_config (SC_ARCH_SD15)->unet;
}

static gpointer
map_cfg_vae (void)
{
  return (gpointer) &sc_arch_config (SC_ARCH_SD15)->vae;
}

static gpointer
map_cfg_text (gboolean openclip)
{
  return (gpointer) &sc_arch_config (openclip ? SC_ARCH_SD21 : SC_ARCH_SD15)->text;
}

/* ---- files ------------------------------------------------------------------------------------- */

static char *
first_existing (const char *dir, const char *const *leaves)
{
  for (; *leaves; leaves++)
    {
      char *p = g_build_filename (dir, *leaves, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return p;
      g_free (p);
    }
  return NULL;
}

/* A weight file of either kind: safetensors, or a torch.save archive (.ckpt/.pt/.pth/.bin, read by the
 * restricted unpickler; the legacy pre-zip format gets a clear refusal from it). */
typedef struct {
  ScSafetensors *st;
  ScTorchFile *tf;
} AnyFile;

static gboolean
is_torch_path (const char *path)
{
  return g_str_has_suffix (path, ".ckpt") || g_str_has_suffix (path, ".pt") || g_str_has_suffix (path, ".pth") ||
         g_str_has_suffix (path, ".bin") || sc_torch_file_sniff (path);
}

static gboolean
any_open (AnyFile *f, const char *path, GError **error)
{
  f->st = NULL;
  f->tf = NULL;
  if (!is_torch_path (path))
    return (f->st = sc_safetensors_open (path, error)) != NULL;
  if (!(f->tf = sc_torch_file_open (path, error)))
    return FALSE;
  sc_torch_file_unwrap (f->tf, "state_dict");
  return TRUE;
}

static void
any_close (AnyFile *f)
{
  g_clear_pointer (&f->st, sc_safetensors_close);
  g_clear_pointer (&f->tf, sc_torch_file_close);
}

static size_t
any_count (const AnyFile *f)
{
  return f->st ? sc_safetensors_count (f->st) : sc_torch_file_count (f->tf);
}

static const ScStEntry *
any_get (const AnyFile *f, size_t i)
{
  return f->st ? sc_safetensors_get (f->st, i) : sc_torch_file_get (f->tf, i);
}

static const ScStEntry *
any_find (const AnyFile *f, const char *name)
{
  return f->st ? sc_safetensors_find (f->st, name) : sc_torch_file_find (f->tf, name);
}

static gboolean
add_weights (ScModel *m, const char *path, ScNameMapFunc map, gpointer map_data, const char *prefix, GError **error)
{
  return is_torch_path (path) ? sc_weight_source_add_torch_file (m->weights, path, map, map_data, prefix, error)
                              : sc_weight_source_add_file (m->weights, path, map, map_data, prefix, error);
}

/* Full LDM training checkpoints carry an EMA copy of the U-Net ("model_ema.*"); the live weights are used. */
static char *
skip_model_ema (const char *name, gpointer user_data)
{
  (void) user_data;
  return g_str_has_prefix (name, "model_ema.") ? NULL : g_strdup (name);
}

static gboolean add_single_file (ScModel *m, const char *path, GError **error);

static gboolean
add_diffusers_folder (ScModel *m, const char *dir, GError **error)
{
  /* .safetensors first; the PyTorch pickles of older repositories only when there is none. */
  static const char *const unet_files[] = { "diffusion_pytorch_model.safetensors",
                                            "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.bin",
                                            "diffusion_pytorch_model.fp16.bin", NULL };
  static const char *const text_files[] = { "model.safetensors", "model.fp16.safetensors", "pytorch_model.bin",
                                            "pytorch_model.fp16.bin", NULL };
  g_autofree char *unet_dir = g_build_filename (dir, "unet", NULL);
  g_autofree char *vae_dir = g_build_filename (dir, "vae", NULL);
  g_autofree char *text_dir = g_build_filename (dir, "text_encoder", NULL);

  g_autofree char *unet = first_existing (unet_dir, unet_files);
  if (unet && !add_weights (m, unet, sc_name_map_diffusers_unet_to_ldm, map_cfg_unet (), NULL, error))
    return FALSE;
  g_autofree char *vae = first_existing (vae_dir, unet_files);
  if (vae && !add_weights (m, vae, sc_name_map_diffusers_vae_to_ldm, map_cfg_vae (), NULL, error))
    return FALSE;
  g_autofree char *text = first_existing (text_dir, text_files);
  if (text)
    {
      /* The text tower's width tells SD1 (OpenAI CLIP, names kept) from SD2 (OpenCLIP names). */
      g_autoptr (GError) local = NULL;
      AnyFile f;
      if (!any_open (&f, text, error))
        return FALSE;
      const ScStEntry *e = any_find (&f, "text_model.embeddings.token_embedding.weight");
      gboolean openclip = e && e->ndim == 2 && (e->shape[1] == 1024 || e->shape[1] == 64);
      any_close (&f);
      if (!add_weights (m, text, sc_name_map_hf_clip_to_ldm, map_cfg_text (openclip), NULL, error))
        return FALSE;
    }
  if (!unet && !vae && !text)
    {
      /* A component folder of a diffusers model (its unet/, vae/ or text_encoder/ itself). */
      static const char *const any[] = { "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                                         "model.safetensors", "model.fp16.safetensors",
                                         "diffusion_pytorch_model.bin", "pytorch_model.bin", NULL };
      g_autofree char *single = first_existing (dir, any);
      if (single)
        return add_single_file (m, single, error);
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "%s is a folder but not a diffusers model: no unet/, vae/ or text_encoder/ weights", dir);
      return FALSE;
    }
  m->layout = SC_MODEL_LAYOUT_DIFFUSERS_FOLDER;
  return TRUE;
}

/* A single file: an LDM checkpoint, or one component in LDM or diffusers names. */
static gboolean
add_single_file (ScModel *m, const char *path, GError **error)
{
  AnyFile f;
  if (!any_open (&f, path, error))
    return FALSE;
  gboolean ldm = FALSE;
  for (size_t i = 0; i < any_count (&f) && !ldm; i++)
    {
      const char *n = any_get (&f, i)->name;
      ldm = g_str_has_prefix (n, SC_LDM_UNET_PREFIX) || g_str_has_prefix (n, SC_LDM_VAE_PREFIX) ||
            g_str_has_prefix (n, "cond_stage_model.");
    }
#define HAS(name) (any_find (&f, name) != NULL)
  ScNameMapFunc map = NULL;
  gpointer map_data = NULL;
  const char *prefix = NULL;
  gboolean known = TRUE;
  if (ldm)
    {
      m->layout = SC_MODEL_LAYOUT_LDM_FILE;
      if (f.tf)
        map = skip_model_ema;
    }
  else if (HAS ("input_blocks.0.0.weight"))
    prefix = SC_LDM_UNET_PREFIX;
  else if (HAS ("conv_in.weight") && HAS ("down_blocks.0.resnets.0.conv1.weight"))
    map = sc_name_map_diffusers_unet_to_ldm, map_data = map_cfg_unet ();
  else if (HAS ("encoder.down.0.block.0.conv1.weight") || HAS ("decoder.up.0.block.0.conv1.weight"))
    prefix = SC_LDM_VAE_PREFIX;
  else if (HAS ("encoder.down_blocks.0.resnets.0.conv1.weight") || HAS ("decoder.up_blocks.0.resnets.0.conv1.weight"))
    map = sc_name_map_diffusers_vae_to_ldm, map_data = map_cfg_vae ();
  else if (HAS ("text_model.embeddings.token_embedding.weight"))
    {
      const ScStEntry *e = any_find (&f, "text_model.embeddings.token_embedding.weight");
      gboolean openclip = e->ndim == 2 && (e->shape[1] == 1024 || e->shape[1] == 64);
      map = sc_name_map_hf_clip_to_ldm, map_data = map_cfg_text (openclip);
    }
  else if (HAS ("token_embedding.weight") && HAS ("ln_final.weight"))
    prefix = SC_LDM_OPENCLIP_PREFIX;
  else
    known = FALSE;
#undef HAS
  if (!known)
    {
      const char *first = any_count (&f) ? any_get (&f, 0)->name : "(none)";
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "%s does not look like a Stable Diffusion model or component (it has %zu tensors; the first is “%s”)",
                   path, any_count (&f), first);
      any_close (&f);
      return FALSE;
    }
  any_close (&f);
  if (!ldm)
    m->layout = SC_MODEL_LAYOUT_COMPONENT_FILE;
  return add_weights (m, path, map, map_data, prefix, error);
}

/* ---- detection ----------------------------------------------------------------------------------- */

static int64_t
dim_of (ScWeightSource *w, const char *name, int axis, int *ndim_out)
{
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  if (!sc_weight_source_shape (w, name, &ndim, shape) || axis >= ndim)
    return -1;
  if (ndim_out)
    *ndim_out = ndim;
  return shape[axis];
}

static gboolean
detect_arch (ScModel *m, ScArch *out, GError **error)
{
  ScWeightSource *w = m->weights;
  int64_t mc = dim_of (w, UNET_CONV_IN, 0, NULL);
  int64_t ctx = dim_of (w, UNET_ATTN2_K, 1, NULL);
  int64_t text_w = dim_of (w, CLIP_TOKEN_EMB, 1, NULL);
  int64_t openclip_w = dim_of (w, OPENCLIP_TOKEN_EMB, 1, NULL);
  int64_t vae_ch = dim_of (w, VAE_ENC_CONV_IN, 0, NULL);
  if (vae_ch < 0)
    vae_ch = dim_of (w, VAE_DEC_CONV_OUT, 1, NULL);
  for (int a = 0; a < SC_ARCH_COUNT_; a++)
    {
      const ScArchConfig *c = sc_arch_config ((ScArch) a);
      if (mc >= 0)
        {
          if (mc == c->unet.model_channels && ctx == c->unet.context_dim)
            return *out = (ScArch) a, TRUE;
          continue;
        }
      if (text_w >= 0 && c->text.style == SC_TEXT_CLIP_HF && text_w == c->text.width)
        return *out = (ScArch) a, TRUE;
      if (openclip_w >= 0 && c->text.style == SC_TEXT_OPENCLIP && openclip_w == c->text.width)
        return *out = (ScArch) a, TRUE;
      if (text_w < 0 && openclip_w < 0 && vae_ch >= 0 && vae_ch == c->vae.ch)
        return *out = (ScArch) a, TRUE;
    }
  g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
               "Could not tell the architecture of %s (U-Net width %" G_GINT64_FORMAT ", context %" G_GINT64_FORMAT
               "); pass --arch %s", m->path, mc, ctx, sc_arch_names ());
  return FALSE;
}

/* A forced --arch must still agree with the tensors we can see. */
static gboolean
check_forced_arch (ScModel *m, GError **error)
{
  int64_t mc = dim_of (m->weights, UNET_CONV_IN, 0, NULL);
  int64_t ctx = dim_of (m->weights, UNET_ATTN2_K, 1, NULL);
  if (mc >= 0 && (mc != m->arch.unet.model_channels || ctx != m->arch.unet.context_dim))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "%s is not a %s model: its U-Net has width %" G_GINT64_FORMAT " and context %" G_GINT64_FORMAT
                   ", %s needs %d and %d", m->path, m->arch.name, mc, ctx, m->arch.name,
                   m->arch.unet.model_channels, m->arch.unet.context_dim);
      return FALSE;
    }
  return TRUE;
}

static char *
read_prediction_type (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "scheduler", "scheduler_config.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonObject *o = json_node_get_object (root);
  if (!json_object_has_member (o, "prediction_type"))
    return NULL;
  JsonNode *v = json_object_get_member (o, "prediction_type");
  return JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING
             ? g_strdup (json_node_get_string (v)) : NULL;
}

/* Population std of a stored tensor (the ComfyUI v-prediction statistic). */
static double
tensor_std (ScWeightSource *w, const char *name)
{
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  if (!sc_weight_source_shape (w, name, &ndim, shape) || ndim != 1)
    return -1;
  float *v = sc_weight_source_get (w, name, 1, shape, SC_INIT_ZERO, NULL);
  if (!v)
    return -1;
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < shape[0]; i++)
    s += v[i];
  double mean = s / (double) shape[0];
  for (int64_t i = 0; i < shape[0]; i++)
    s2 += (v[i] - mean) * (v[i] - mean);
  sc_free_floats (v);
  return sqrt (s2 / (double) MAX (shape[0] - 1, 1));
}

static gboolean
detect_prediction (ScModel *m, const char *option, GError **error)
{
  if (option)
    {
      if (g_str_equal (option, "eps") || g_str_equal (option, "epsilon"))
        m->prediction = SC_PREDICTION_EPS;
      else if (g_str_equal (option, "v") || g_str_equal (option, "v_prediction"))
        m->prediction = SC_PREDICTION_V;
      else
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Unknown prediction type “%s” (use eps or v)",
                       option);
          return FALSE;
        }
      m->prediction_source = "option";
      return TRUE;
    }
  if (m->layout == SC_MODEL_LAYOUT_DIFFUSERS_FOLDER)
    {
      g_autofree char *p = read_prediction_type (m->path);
      if (p)
        {
          m->prediction = g_str_equal (p, "v_prediction") ? SC_PREDICTION_V : SC_PREDICTION_EPS;
          m->prediction_source = "scheduler_config.json";
          return TRUE;
        }
    }
  if (m->arch.family == SC_FAMILY_SD2 && m->arch.unet.model_channels == 320 &&
      sc_weight_source_has (m->weights, UNET_NORM1_BIAS))
    {
      /* SD2 checkpoints carry no flag: the spread of this bias separates 768-v from 512-base
       * (stable-diffusion.md §6.5, ComfyUI's rule). --prediction overrides. */
      double std = tensor_std (m->weights, UNET_NORM1_BIAS);
      m->prediction = std > 0.09 ? SC_PREDICTION_V : SC_PREDICTION_EPS;
      m->prediction_source = "norm-bias statistic";
      return TRUE;
    }
  m->prediction = m->arch.prediction;
  m->prediction_source = "architecture default";
  return TRUE;
}

static void
detect_present (ScModel *m)
{
  GPtrArray *names = sc_weight_source_names (m->weights);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      if (g_str_has_prefix (n, SC_LDM_UNET_PREFIX))
        m->present |= SC_COMPONENT_UNET;
      else if (g_str_has_prefix (n, SC_LDM_VAE_PREFIX "encoder."))
        m->present |= SC_COMPONENT_VAE_ENCODER;
      else if (g_str_has_prefix (n, SC_LDM_VAE_PREFIX "decoder."))
        m->present |= SC_COMPONENT_VAE_DECODER;
      else if (g_str_has_prefix (n, "cond_stage_model."))
        m->present |= SC_COMPONENT_TEXT;
    }
  g_ptr_array_unref (names);
  const char *probe = (m->present & SC_COMPONENT_UNET) ? UNET_CONV_IN
                      : sc_weight_source_has (m->weights, CLIP_TOKEN_EMB) ? CLIP_TOKEN_EMB
                      : sc_weight_source_has (m->weights, OPENCLIP_TOKEN_EMB) ? OPENCLIP_TOKEN_EMB
                      : VAE_ENC_CONV_IN;
  if (!sc_weight_source_dtype (m->weights, probe, &m->weight_dtype))
    m->weight_dtype = SC_DTYPE_F32;
}

ScModel *
sc_model_probe (const char *path, const ScModelOptions *options, GError **error)
{
  ScModelOptions none = { 0 };
  if (!options)
    options = &none;
  g_autoptr (ScModel) m = g_new0 (ScModel, 1);
  m->path = g_strdup (path);
  m->weights = sc_weight_source_new_files ();
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      if (!add_diffusers_folder (m, path, error))
        return NULL;
    }
  else if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!add_single_file (m, path, error))
        return NULL;
    }
  else
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "No such file or folder: %s", path);
      return NULL;
    }

  ScArch arch;
  if (options->arch)
    {
      if (!sc_arch_from_name (options->arch, &arch))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "Unknown architecture “%s” (known: %s)",
                       options->arch, sc_arch_names ());
          return NULL;
        }
      m->arch = *sc_arch_config (arch);
      if (!check_forced_arch (m, error))
        return NULL;
    }
  else
    {
      if (!detect_arch (m, &arch, error))
        return NULL;
      m->arch = *sc_arch_config (arch);
      m->arch_detected = TRUE;
    }
  int64_t in_ch = dim_of (m->weights, UNET_CONV_IN, 1, NULL);
  if (in_ch > 0)
    m->arch.unet.in_channels = (int) in_ch;
  /* OpenCLIP checkpoints may store fewer layers than the full tower (diffusers keeps 23 of 24). */
  if (m->arch.text.style == SC_TEXT_OPENCLIP)
    {
      int stored = 0;
      for (;; stored++)
        {
          g_autofree char *n = g_strdup_printf (SC_LDM_OPENCLIP_PREFIX "transformer.resblocks.%d.ln_1.weight", stored);
          if (!sc_weight_source_has (m->weights, n))
            break;
        }
      if (stored > 0 && stored < m->arch.text.layers)
        m->arch.text.layers = stored;
    }
  detect_present (m);
  if (!detect_prediction (m, options->prediction, error))
    return NULL;
  return g_steal_pointer (&m);
}

int64_t
sc_model_stored_params (const ScModel *m, ScComponents component)
{
  const char *prefix = component == SC_COMPONENT_UNET ? SC_LDM_UNET_PREFIX
                       : component == SC_COMPONENT_VAE_ENCODER ? SC_LDM_VAE_PREFIX "encoder."
                       : component == SC_COMPONENT_VAE_DECODER ? SC_LDM_VAE_PREFIX "decoder."
                       : "cond_stage_model.";
  int64_t total = 0;
  GPtrArray *names = sc_weight_source_names (m->weights);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      gboolean match = g_str_has_prefix (n, prefix);
      /* the VAE's quant convs belong with the encoder / decoder they serve */
      if (component == SC_COMPONENT_VAE_ENCODER && g_str_has_prefix (n, SC_LDM_VAE_PREFIX "quant_conv."))
        match = TRUE;
      if (component == SC_COMPONENT_VAE_DECODER && g_str_has_prefix (n, SC_LDM_VAE_PREFIX "post_quant_conv."))
        match = TRUE;
      int ndim;
      int64_t shape[SC_MAX_DIMS];
      if (match && sc_weight_source_shape (m->weights, n, &ndim, shape))
        {
          int64_t k = 1;
          for (int d = 0; d < ndim; d++)
            k *= shape[d];
          total += k;
        }
    }
  g_ptr_array_unref (names);
  return total;
}

/* ---- tokenizer ------------------------------------------------------------------------------------- */

ScClipTokenizer *
sc_model_find_tokenizer (const char *model_path, const char *vocab, char **found_path, GError **error)
{
  if (vocab)
    {
      ScClipTokenizer *t = sc_clip_tokenizer_new (vocab, error);
      if (t && found_path)
        *found_path = g_strdup (vocab);
      return t;
    }
  g_autoptr (GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
  if (model_path)
    {
      g_autofree char *dir = g_file_test (model_path, G_FILE_TEST_IS_DIR) ? g_strdup (model_path)
                                                                           : g_path_get_dirname (model_path);
      g_ptr_array_add (candidates, g_build_filename (dir, "tokenizer", NULL));
      g_ptr_array_add (candidates, g_build_filename (dir, "bpe_simple_vocab_16e6.txt.gz", NULL));
    }
  const char *env = g_getenv ("SCEDIT_VOCAB");
  if (env)
    g_ptr_array_add (candidates, g_strdup (env));
  g_ptr_array_add (candidates, g_build_filename (g_get_user_data_dir (), "scedit-studio", "bpe_simple_vocab_16e6.txt.gz", NULL));
  g_ptr_array_add (candidates, g_build_filename (SC_DATADIR, "bpe_simple_vocab_16e6.txt.gz", NULL));
  for (guint i = 0; i < candidates->len; i++)
    {
      const char *c = candidates->pdata[i];
      if (!g_file_test (c, G_FILE_TEST_EXISTS))
        continue;
      ScClipTokenizer *t = sc_clip_tokenizer_new (c, error);
      if (t && found_path)
        *found_path = g_strdup (c);
      return t;
    }
  GString *where = g_string_new (NULL);
  for (guint i = 0; i < candidates->len; i++)
    g_string_append_printf (where, "\n  %s", (const char *) candidates->pdata[i]);
  g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR,
               "No CLIP tokenizer found. This model carries none: pass --vocab with bpe_simple_vocab_16e6.txt.gz "
               "(from openai/CLIP or open_clip) or a tokenizer folder (vocab.json + merges.txt). Looked in:%s",
               where->str);
  g_string_free (where, TRUE);
  return NULL;
}

/* ---- load ------------------------------------------------------------------------------------------ */

ScModel *
sc_model_load (const char *path, const ScModelOptions *options, GError **error)
{
  ScModelOptions none = { 0 };
  if (!options)
    options = &none;
  g_autoptr (ScModel) m = sc_model_probe (path, options, error);
  if (!m)
    return NULL;
  ScComponents want = options->components ? options->components : (m->present | SC_COMPONENT_TOKENIZER);
  static const struct {
    ScComponents c;
    const char *what;
  } names[] = {
    { SC_COMPONENT_UNET, "a U-Net (model.diffusion_model.*)" },
    { SC_COMPONENT_VAE_ENCODER, "a VAE encoder (first_stage_model.encoder.*)" },
    { SC_COMPONENT_VAE_DECODER, "a VAE decoder (first_stage_model.decoder.*)" },
    { SC_COMPONENT_TEXT, "a text encoder (cond_stage_model.*)" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    if ((want & names[i].c) && !(m->present & names[i].c))
      {
        g_set_error (error, SC_ERROR, SC_ERROR_MISSING_TENSOR, "%s has no %s", path, names[i].what);
        return NULL;
      }
  if (want & SC_COMPONENT_UNET)
    {
      m->unet = sc_unet_new (&m->arch.unet, m->weights, SC_LDM_UNET_PREFIX, error);
      if (!m->unet)
        return NULL;
    }
  if (want & (SC_COMPONENT_VAE_ENCODER | SC_COMPONENT_VAE_DECODER))
    {
      m->vae = sc_vae_new (&m->arch.vae, m->weights, SC_LDM_VAE_PREFIX, (want & SC_COMPONENT_VAE_ENCODER) != 0,
                           (want & SC_COMPONENT_VAE_DECODER) != 0, error);
      if (!m->vae)
        return NULL;
    }
  if (want & SC_COMPONENT_TEXT)
    {
      const char *prefix = m->arch.text.style == SC_TEXT_CLIP_HF ? SC_LDM_CLIP_PREFIX "text_model."
                                                                  : SC_LDM_OPENCLIP_PREFIX;
      m->text = sc_clip_text_new (&m->arch.text, m->weights, prefix, error);
      if (!m->text)
        return NULL;
    }
  if (want & SC_COMPONENT_TOKENIZER)
    {
      m->tokenizer = sc_model_find_tokenizer (path, options->vocab, &m->tokenizer_path, error);
      if (!m->tokenizer)
        return NULL;
    }
  m->loaded = want;
  return g_steal_pointer (&m);
}

void
sc_model_free (ScModel *m)
{
  if (!m)
    return;
  g_clear_pointer (&m->unet, sc_unet_free);
  g_clear_pointer (&m->vae, sc_vae_free);
  g_clear_pointer (&m->text, sc_clip_text_free);
  g_clear_pointer (&m->tokenizer, sc_clip_tokenizer_free);
  g_clear_pointer (&m->weights, sc_weight_source_free);
  g_free (m->tokenizer_path);
  g_free (m->path);
  g_free (m);
}

char *
sc_model_describe (const ScModel *m)
{
  static const char *const layouts[] = { "LDM single file", "diffusers folder", "component file" };
  return g_strdup_printf ("%s (%s), %s-prediction (%s), %s weights, %s%s",
                          m->arch.family == SC_FAMILY_SD1 ? "SD 1.x" : "SD 2.x", m->arch.name,
                          m->prediction == SC_PREDICTION_V ? "v" : "ε", m->prediction_source,
                          sc_dtype_name (m->weight_dtype), layouts[m->layout],
                          m->arch.unet.in_channels == 9 ? ", inpainting U-Net" : "");
}
