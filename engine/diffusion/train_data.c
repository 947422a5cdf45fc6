#include "diffusion/train_data.h"
#include "cond/hint.h"
#include "core/error.h"
#include "diffusion/pipeline.h"

#include <math.h>
#include <string.h>

gboolean
sc_train_check_resolution (const ScModel *model, int resolution, GError **error)
{
  int vae = 1 << (model->arch.vae.n_levels - 1), unet = 1 << (model->arch.unet.n_levels - 1);
  int step = vae * unet;
  if (resolution < step || resolution > 4096 || resolution % step)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "Resolution %d is not supported: training needs a multiple of %d up to 4096 (the VAE divides "
                   "the picture by %d and the U-Net halves the latent %d times)",
                   resolution, step, vae, model->arch.unet.n_levels - 1);
      return FALSE;
    }
  return TRUE;
}

static gboolean
has_suffix_ci (const char *name, const char *suffix)
{
  size_t n = strlen (name), k = strlen (suffix);
  return n > k && g_ascii_strcasecmp (name + n - k, suffix) == 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The picture files of dir, sorted; WebP is refused by name rather than skipped unnoticed. */
static GPtrArray *
list_pictures (const char *dir, GError **error)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  if (!d)
    {
      g_prefix_error (error, "Cannot open the training folder: ");
      return NULL;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; (name = g_dir_read_name (d));)
    {
      if (has_suffix_ci (name, ".webp"))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                       "“%s” is a WebP picture, which is not supported: convert it to PNG or JPEG", name);
          return NULL;
        }
      if (has_suffix_ci (name, ".png") || has_suffix_ci (name, ".jpg") || has_suffix_ci (name, ".jpeg"))
        g_ptr_array_add (names, g_strdup (name));
    }
  if (names->len == 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "The training folder “%s” holds no pictures (PNG or JPEG files)", dir);
      return NULL;
    }
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}

/* NAME.txt beside NAME.ext, stripped; NULL when there is none. */
static char *
read_caption (const char *dir, const char *name, GError **error)
{
  g_autofree char *stem = g_strndup (name, (gsize) (strrchr (name, '.') - name));
  g_autofree char *leaf = g_strconcat (stem, ".txt", NULL);
  g_autofree char *path = g_build_filename (dir, leaf, NULL);
  char *text = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "The caption “%s” is not UTF-8 text", leaf);
      g_free (text);
      return NULL;
    }
  return g_strstrip (text);
}

/* picture → fitted RGB in [−1, 1] → VAE moments → mean and std × scale. */
static gboolean
encode_picture (ScModel *m, const ScBackend *be, const ScTrainData *data, const char *path, ScTrainItem *item,
                GError **error)
{
  g_autoptr (ScImage) img = sc_image_load (path, error);
  g_autoptr (ScImage) fit = img ? sc_cond_fit (img, data->resolution, data->resolution, error) : NULL;
  g_autofree float *rgb = fit ? sc_image_to_float_rgb (fit, error) : NULL;
  if (!rgb)
    return FALSE;
  size_t npix = (size_t) data->resolution * (size_t) data->resolution, n = (size_t) (data->h * data->w * data->c);
  for (size_t i = 0; i < npix * 3; i++)
    rgb[i] = rgb[i] * 2.0f - 1.0f;
  float *moments = sc_alloc_floats (2 * n, error);
  gboolean ok = moments && (item->mean = sc_alloc_floats (n, error)) && (item->std = sc_alloc_floats (n, error))
                && sc_vae_encode (m->vae, be, rgb, 1, data->resolution, data->resolution, moments, error);
  if (ok)
    {
      float scale = m->arch.vae.scale_factor;
      int64_t c = data->c;
      for (int64_t p = 0; p < data->h * data->w; p++)
        for (int64_t k = 0; k < c; k++)
          {
            float logvar = CLAMP (moments[p * 2 * c + c + k], -30.0f, 20.0f); /* as diffusers' posterior */
            item->mean[p * c + k] = scale * moments[p * 2 * c + k];
            item->std[p * c + k] = scale * expf (0.5f * logvar);
          }
    }
  sc_free_floats (moments);
  return ok;
}

ScTrainData *
sc_train_data_load (ScModel *m, const ScBackend *be, const char *dir, int resolution, const char *default_caption,
                    GError **error)
{
  if (!m->vae || !(m->loaded & SC_COMPONENT_VAE_ENCODER) || !m->text || !m->tokenizer)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_WRONG_MODEL,
                   "Training needs the model's VAE encoder, text encoder and tokenizer; %s lacks some", m->path);
      return NULL;
    }
  if (!sc_train_check_resolution (m, resolution, error))
    return NULL;
  g_autoptr (GPtrArray) names = list_pictures (dir, error);
  if (!names)
    return NULL;
  g_autoptr (ScTrainData) data = g_new0 (ScTrainData, 1);
  data->resolution = resolution;
  int vae = 1 << (m->arch.vae.n_levels - 1);
  data->h = data->w = resolution / vae;
  data->c = m->arch.vae.z_channels;
  data->n_ctx = SC_CLIP_CONTEXT;
  data->context_dim = m->arch.text.width;
  data->items = g_new0 (ScTrainItem, names->len);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      ScTrainItem *item = &data->items[i];
      data->n = (int) i + 1; /* counts the item being filled, so a failure frees it too */
      g_autofree char *path = g_build_filename (dir, name, NULL);
      item->name = g_strdup (name);
      GError *local = NULL;
      item->caption = read_caption (dir, name, &local);
      if (local)
        {
          g_propagate_error (error, local);
          return NULL;
        }
      item->own_caption = item->caption != NULL;
      if (!item->caption)
        item->caption = g_strdup (default_caption ? default_caption : "");
      if (!encode_picture (m, be, data, path, item, error))
        {
          g_prefix_error (error, "Cannot use the picture “%s”: ", name);
          return NULL;
        }
      if (!(item->context = sc_alloc_floats ((size_t) (data->n_ctx * data->context_dim), error))
          || !sc_encode_prompt (m, be, item->caption, item->context, error))
        return NULL;
    }
  return g_steal_pointer (&data);
}

void
sc_train_data_free (ScTrainData *data)
{
  if (!data)
    return;
  for (int i = 0; i < data->n; i++)
    {
      ScTrainItem *item = &data->items[i];
      g_free (item->name);
      g_free (item->caption);
      sc_free_floats (item->mean);
      sc_free_floats (item->std);
      sc_free_floats (item->context);
    }
  g_free (data->items);
  g_free (data);
}

void
sc_train_data_latent (const ScTrainData *data, int i, ScPhilox *rng, float *out)
{
  const ScTrainItem *item = &data->items[i];
  size_t n = (size_t) (data->h * data->w * data->c);
  sc_philox_randn (rng, out, n);
  for (size_t k = 0; k < n; k++)
    out[k] = item->mean[k] + item->std[k] * out[k];
}
