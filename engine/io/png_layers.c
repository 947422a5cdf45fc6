/* Layer chunks. Each layer is one "scLy" chunk: ancillary (s: a reader may ignore it), private (c),
 * reserved bit clear (L), safe to copy (y: the layers do not depend on the image's pixels, so an editor
 * that changes those may keep them).
 *
 * Why a chunk of our own rather than a zTXt/iTXt chunk holding a PNG: text chunks are meant for text, and
 * the tools people read these files with (PIL behind A1111's "PNG Info", ComfyUI) load every text chunk
 * into their metadata and show it, so megabytes of binary would spill into their panels and into our own
 * text table. A chunk type nobody else knows is skipped by every PNG reader.
 *
 * Body: the name, NUL, version (1), width and height (big-endian u32), channels (1, 3 or 4; 8-bit
 * samples), method (0 = zlib), then one zlib stream of the rows, top row first, without PNG's per-row
 * filter byte. Not a whole PNG inside: a second libpng decoder with its longjmp error paths buys nothing
 * here, and a bare stream lets the reader inflate into a buffer of exactly the size the header states, so
 * a lying chunk can neither overrun it nor make us inflate gigabytes. */
#include "io/png_layers.h"

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image_private.h"

#include <string.h>
#include <zlib.h>

#define CHUNK_TYPE "scLy"
#define LAYER_VERSION 1
#define HEADER_BYTES 11 /* version, width, height, channels, method */
#define MAX_NAME 79
#define MAX_CHUNK 0x7fffffffu /* the PNG limit on a chunk's length */

static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static void
put_be32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (out, b, 4);
}

static gboolean
name_is_valid (const guint8 *name, size_t n)
{
  if (n < 1 || n > MAX_NAME)
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && !strchr ("-_.:", name[i]))
      return FALSE;
  return TRUE;
}

/* ---- writing ---- */

static gboolean
append_layer (GByteArray *out, const ScPngLayer *layer, GError **error)
{
  const ScImage *img = layer->image;
  const char *name = layer->name ? layer->name : "";
  if (!name_is_valid ((const guint8 *) name, strlen (name)))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "PNG layer “%s”: a name is 1 to 79 letters, digits, “-”, “_”, “.” or “:”", name);
      return FALSE;
    }
  if (img == NULL || img->bit_depth != 8 || (img->channels != 1 && img->channels != 3 && img->channels != 4))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "PNG layer “%s”: only 8-bit pictures with 1, 3 or 4 channels can be stored", name);
      return FALSE;
    }
  if (img->width < 1 || img->height < 1 || img->width > SC_PNG_LAYER_MAX_SIDE || img->height > SC_PNG_LAYER_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "PNG layer “%s”: %d×%d pixels is outside the limit of 1 to %d per side", name, img->width,
                   img->height, SC_PNG_LAYER_MAX_SIDE);
      return FALSE;
    }
  uLong raw = (uLong) img->width * (uLong) img->height * (uLong) img->channels;
  uLongf zlen = compressBound (raw);
  size_t name_len = strlen (name);
  g_autoptr (GByteArray) chunk = g_byte_array_sized_new ((guint) (4 + name_len + 1 + HEADER_BYTES + zlen));
  g_byte_array_append (chunk, (const guint8 *) CHUNK_TYPE, 4);
  g_byte_array_append (chunk, (const guint8 *) name, (guint) name_len + 1); /* with its NUL */
  guint8 version = LAYER_VERSION;
  g_byte_array_append (chunk, &version, 1);
  put_be32 (chunk, (guint32) img->width);
  put_be32 (chunk, (guint32) img->height);
  guint8 tail[2] = { (guint8) img->channels, 0 /* zlib */ };
  g_byte_array_append (chunk, tail, 2);
  guint head = chunk->len;
  g_byte_array_set_size (chunk, head + (guint) zlen);
  if (compress2 (chunk->data + head, &zlen, img->data, raw, Z_BEST_COMPRESSION) != Z_OK)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "PNG layer “%s”: zlib could not compress it", name);
      return FALSE;
    }
  g_byte_array_set_size (chunk, head + (guint) zlen);
  guint32 body = chunk->len - 4;
  if (body > MAX_CHUNK)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG layer “%s” is too big for a PNG chunk", name);
      return FALSE;
    }
  put_be32 (out, body);
  g_byte_array_append (out, chunk->data, chunk->len);
  put_be32 (out, (guint32) crc32 (crc32 (0, NULL, 0), chunk->data, chunk->len));
  return TRUE;
}

gboolean
sc_png_add_layers (GByteArray *png, const ScPngLayer *layers, int n_layers, GError **error)
{
  g_return_val_if_fail (png != NULL && (n_layers == 0 || layers != NULL), FALSE);
  /* an IEND chunk is empty: length 0, "IEND", its CRC */
  static const guint8 iend[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };
  if (png->len < sizeof png_magic + sizeof iend || memcmp (png->data, png_magic, sizeof png_magic) != 0
      || memcmp (png->data + png->len - sizeof iend, iend, sizeof iend) != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG layers: the PNG does not end with IEND");
      return FALSE;
    }
  guint end = png->len - (guint) sizeof iend;
  g_autoptr (GByteArray) chunks = g_byte_array_new ();
  for (int i = 0; i < n_layers; i++)
    {
      for (int j = 0; j < i; j++)
        if (layers[i].name && layers[j].name && strcmp (layers[i].name, layers[j].name) == 0)
          {
            g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG layers: the name “%s” is used twice",
                         layers[i].name);
            return FALSE;
          }
      if (!append_layer (chunks, &layers[i], error))
        return FALSE;
    }
  g_byte_array_set_size (png, end);
  g_byte_array_append (png, chunks->data, chunks->len);
  g_byte_array_append (png, iend, sizeof iend);
  return TRUE;
}

gboolean
sc_image_save_png_layers (const ScImage *img, const char *path, const char *const *keys, const char *const *values,
                          int n_text, const ScPngLayer *layers, int n_layers, GError **error)
{
  g_return_val_if_fail (img != NULL && path != NULL, FALSE);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  return sc_image_encode_png (img, keys, values, n_text, buf, error) && sc_png_add_layers (buf, layers, n_layers, error)
         && sc_atomic_write (path, buf->data, buf->len, error);
}

/* ---- reading ---- */

/* Decodes one chunk body into *name and a new image. total: decoded bytes so far, checked and grown. */
static ScImage *
parse_layer (const guint8 *p, size_t n, size_t *total, char **name, GError **error)
{
  const guint8 *nul = memchr (p, 0, MIN (n, MAX_NAME + 1));
  if (nul == NULL || !name_is_valid (p, (size_t) (nul - p)))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG layer chunk without a valid name");
      return NULL;
    }
  *name = g_strndup ((const char *) p, (size_t) (nul - p));
  const guint8 *h = nul + 1;
  size_t rest = n - (size_t) (h - p);
  if (rest < HEADER_BYTES)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG layer “%s”: the chunk is too short for its header",
                   *name);
      return NULL;
    }
  guint32 w = be32 (h + 1), hgt = be32 (h + 5);
  guint channels = h[9], method = h[10];
  if (h[0] != LAYER_VERSION || method != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "PNG layer “%s” is stored in a newer way (version %u, method %u); this version reads 1 and 0",
                   *name, h[0], method);
      return NULL;
    }
  if (w < 1 || hgt < 1 || w > SC_PNG_LAYER_MAX_SIDE || hgt > SC_PNG_LAYER_MAX_SIDE)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT,
                   "PNG layer “%s” claims %u×%u pixels; the limit is 1 to %d per side", *name, w, hgt,
                   SC_PNG_LAYER_MAX_SIDE);
      return NULL;
    }
  if (channels != 1 && channels != 3 && channels != 4)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG layer “%s” claims %u channels (want 1, 3 or 4)", *name,
                   channels);
      return NULL;
    }
  size_t want = (size_t) w * hgt * channels;
  if (want > SC_PNG_LAYERS_MAX_BYTES - *total)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "PNG layer “%s”: the layers of this file hold more than %u MiB of pixels", *name,
                   SC_PNG_LAYERS_MAX_BYTES >> 20);
      return NULL;
    }
  g_autoptr (ScImage) img = sc_image_new ((int) w, (int) hgt, (int) channels, 8, error);
  if (img == NULL)
    return NULL;

  z_stream zs = { 0 };
  if (inflateInit (&zs) != Z_OK)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "PNG layer “%s”: cannot start zlib", *name);
      return NULL;
    }
  zs.next_in = (Bytef *) (h + HEADER_BYTES);
  zs.avail_in = (uInt) (rest - HEADER_BYTES); /* a chunk is < 2 GiB */
  zs.next_out = img->data;
  zs.avail_out = (uInt) want; /* at most 64 MiB: inflate can never write more than the picture holds */
  int rc = inflate (&zs, Z_FINISH);
  gboolean full = zs.avail_out == 0, extra = zs.avail_in != 0;
  inflateEnd (&zs);
  const char *why = NULL;
  if (rc == Z_STREAM_END)
    why = !full ? "its data ends before the picture is complete" : extra ? "it has bytes after its data" : NULL;
  else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
    why = "its compressed data is corrupt";
  else if (rc == Z_MEM_ERROR)
    why = "out of memory";
  else
    why = full ? "it holds more data than its size says" : "its compressed data is cut short";
  if (why)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG layer “%s” (%u×%u) is broken: %s", *name, w, hgt, why);
      return NULL;
    }
  *total += want;
  return g_steal_pointer (&img);
}

static void
warn (GPtrArray *warnings, char *message /* taken */)
{
  if (warnings)
    g_ptr_array_add (warnings, message);
  else
    g_free (message);
}

GHashTable *
sc_png_read_layers_memory (const void *data, size_t len, GPtrArray *warnings, GError **error)
{
  const guint8 *p = data;
  if (len < sizeof png_magic || memcmp (p, png_magic, sizeof png_magic) != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "not a PNG file");
      return NULL;
    }
  GHashTable *layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) sc_image_free);
  size_t total = 0, pos = sizeof png_magic;
  for (;;)
    {
      if (len - pos < 12)
        {
          warn (warnings, g_strdup_printf ("PNG: the file is cut short at byte %zu; layers after it are lost", pos));
          break;
        }
      guint32 n = be32 (p + pos);
      const guint8 *type = p + pos + 4;
      if (n > MAX_CHUNK || n > len - pos - 12)
        {
          warn (warnings, g_strdup_printf ("PNG: a chunk at byte %zu runs past the end of the file; layers after it "
                                           "are lost", pos));
          break;
        }
      if (memcmp (type, "IEND", 4) == 0)
        break;
      if (memcmp (type, CHUNK_TYPE, 4) == 0)
        {
          const guint8 *body = type + 4;
          g_autoptr (GError) local = NULL;
          g_autofree char *name = NULL;
          g_autoptr (ScImage) img = NULL;
          const guint8 *nul = memchr (body, 0, MIN (n, MAX_NAME + 1));
          gboolean named = nul && name_is_valid (body, (size_t) (nul - body)); /* to say which one broke */
          if ((guint32) crc32 (crc32 (0, NULL, 0), type, n + 4) != be32 (body + n))
            g_set_error (&local, SC_ERROR, SC_ERROR_FORMAT, "PNG layer “%.*s” (at byte %zu) is damaged: bad CRC",
                         named ? (int) (nul - body) : 1, named ? (const char *) body : "?", pos);
          else if (g_hash_table_size (layers) >= SC_PNG_LAYERS_MAX)
            g_set_error (&local, SC_ERROR, SC_ERROR_UNSUPPORTED, "PNG: more than %d layers; the rest are left out",
                         SC_PNG_LAYERS_MAX);
          else
            img = parse_layer (body, n, &total, &name, &local);
          if (img && g_hash_table_contains (layers, name))
            g_set_error (&local, SC_ERROR, SC_ERROR_FORMAT, "PNG layer “%s” appears twice; the first one is kept",
                         name);
          else if (img)
            g_hash_table_insert (layers, g_steal_pointer (&name), g_steal_pointer (&img));
          if (local)
            warn (warnings, g_strdup (local->message));
        }
      pos += (size_t) n + 12;
    }
  return layers;
}

GHashTable *
sc_png_read_layers (const char *path, GPtrArray *warnings, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "%s", local->message);
      return NULL;
    }
  GHashTable *t = sc_png_read_layers_memory (g_mapped_file_get_contents (mf), g_mapped_file_get_length (mf), warnings,
                                             &local);
  if (t == NULL)
    g_set_error (error, SC_ERROR, local->code, "%s: %s", path, local->message);
  return t;
}
