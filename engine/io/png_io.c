/* PNG through libpng: decoding into ScImage, encoding with text chunks. libpng reports errors by
 * longjmp to the setjmp in the calling function; the handlers below record the message first so it
 * can become a GError. Anything touched after setjmp and needed in the error path is volatile. */
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image.h"
#include "io/image_private.h"

#include <png.h>
#include <string.h>

typedef struct {
  const guint8 *data;
  size_t len, pos;
  char message[256];
} PngIo;

static void
on_error (png_structp png, png_const_charp msg)
{
  PngIo *io = png_get_error_ptr (png);
  g_strlcpy (io->message, msg, sizeof io->message);
  png_longjmp (png, 1);
}

static void
on_warning (png_structp png, png_const_charp msg)
{
  /* Warnings (bad ancillary CRCs, unknown sRGB profiles...) do not stop decoding. */
}

static void
read_fn (png_structp png, png_bytep out, size_t n)
{
  PngIo *io = png_get_io_ptr (png);
  if (n > io->len - io->pos)
    png_error (png, "the file is truncated");
  memcpy (out, io->data + io->pos, n);
  io->pos += n;
}

ScImage *
sc_png_load_memory (const void *data, size_t len, GError **error)
{
  PngIo io = { data, len, 0, "" };
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "PNG: cannot create the decoder");
      return NULL;
    }
  ScImage *volatile img = NULL;
  png_bytep *volatile rows = NULL;
  volatile gboolean too_big = FALSE;

  if (setjmp (png_jmpbuf (png)))
    {
      if (!too_big)
        g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG: %s", io.message);
      g_free (rows);
      sc_image_free (img);
      png_destroy_read_struct (&png, &info, NULL);
      return NULL;
    }

  png_set_read_fn (png, &io, read_fn);
  png_read_info (png, info);

  png_uint_32 width, height;
  int depth, color, interlace;
  png_get_IHDR (png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
  /* Refuse before any pixel memory exists; libpng itself would accept up to 10^6 per side. */
  if (!sc_image_check_size ((long) width, (long) height, "PNG", error))
    {
      too_big = TRUE;
      png_longjmp (png, 1);
    }

  gboolean has_trns = png_get_valid (png, info, PNG_INFO_tRNS) != 0;
  if (color == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb (png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8 (png);
  if (has_trns)
    png_set_tRNS_to_alpha (png);
  /* ScImage has no grey+alpha layout: such images become RGBA. */
  if (color == PNG_COLOR_TYPE_GRAY_ALPHA || (color == PNG_COLOR_TYPE_GRAY && has_trns))
    png_set_gray_to_rgb (png);
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (png); /* 16-bit samples are big-endian in the file, native in ScImage */
  png_set_interlace_handling (png);
  png_read_update_info (png, info);

  int channels = png_get_channels (png, info);
  int out_depth = png_get_bit_depth (png, info);
  img = sc_image_new ((int) width, (int) height, channels, out_depth, error);
  if (img == NULL)
    {
      too_big = TRUE; /* error already set */
      png_longjmp (png, 1);
    }
  size_t stride = (size_t) width * (size_t) channels * (size_t) (out_depth / 8);
  if (png_get_rowbytes (png, info) != stride)
    png_error (png, "unexpected row layout");
  rows = g_new (png_bytep, height);
  for (png_uint_32 y = 0; y < height; y++)
    rows[y] = (guint8 *) img->data + (size_t) y * stride;
  png_read_image (png, rows);
  /* Read to IEND so that a file cut anywhere is reported, not silently accepted. */
  png_read_end (png, NULL);

  g_free (rows);
  png_destroy_read_struct (&png, &info, NULL);
  return img;
}

/* ---- writing ---- */

static void
write_fn (png_structp png, png_bytep buf, size_t n)
{
  g_byte_array_append (png_get_io_ptr (png), buf, (guint) n);
}

static void
flush_fn (png_structp png)
{
}

/* PNG keywords are 1-79 printable Latin-1 characters without leading or trailing spaces. Returns the
 * Latin-1 bytes or NULL with an error. */
static char *
keyword_latin1 (const char *key, GError **error)
{
  if (key == NULL || !g_utf8_validate (key, -1, NULL))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG text: the key is not valid UTF-8");
      return NULL;
    }
  GString *out = g_string_new (NULL);
  for (const char *p = key; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (!((c >= 32 && c <= 126) || (c >= 161 && c <= 255)))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                       "PNG text: key “%s” has a character PNG keywords cannot hold (U+%04X)", key, c);
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_c (out, (char) c);
    }
  if (out->len < 1 || out->len > 79 || out->str[0] == ' ' || out->str[out->len - 1] == ' ')
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT,
                   "PNG text: key “%s” must be 1 to 79 characters without leading or trailing spaces", key);
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* Encodes img (with texts) into buf; returns FALSE with error set. */
static gboolean
encode_png (const ScImage *img, png_text *texts, int n_text, GByteArray *buf, GError **error)
{
  PngIo io = { NULL, 0, 0, "" };
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_write_struct (&png, NULL);
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "PNG: cannot create the encoder");
      return FALSE;
    }
  png_bytep *volatile rows = NULL;
  if (setjmp (png_jmpbuf (png)))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "PNG: %s", io.message);
      g_free (rows);
      png_destroy_write_struct (&png, &info);
      return FALSE;
    }
  png_set_write_fn (png, buf, write_fn, flush_fn);
  int color = img->channels == 1 ? PNG_COLOR_TYPE_GRAY
              : img->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR (png, info, (png_uint_32) img->width, (png_uint_32) img->height, img->bit_depth, color,
                PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (n_text > 0)
    png_set_text (png, info, texts, n_text);
  png_write_info (png, info);
  if (G_BYTE_ORDER == G_LITTLE_ENDIAN)
    png_set_swap (png);
  size_t stride = (size_t) img->width * (size_t) img->channels * (size_t) (img->bit_depth / 8);
  rows = g_new (png_bytep, img->height);
  for (int y = 0; y < img->height; y++)
    rows[y] = (guint8 *) img->data + (size_t) y * stride;
  png_write_image (png, rows);
  png_write_end (png, NULL);
  g_free (rows);
  png_destroy_write_struct (&png, &info);
  return TRUE;
}

gboolean
sc_image_encode_png (const ScImage *img, const char *const *keys, const char *const *values, int n_text,
                     GByteArray *out, GError **error)
{
  g_return_val_if_fail (img != NULL && out != NULL, FALSE);
  g_return_val_if_fail (n_text == 0 || (keys != NULL && values != NULL), FALSE);
  if ((img->channels != 1 && img->channels != 3 && img->channels != 4) || (img->bit_depth != 8 && img->bit_depth != 16)
      || !sc_image_check_size (img->width, img->height, "PNG", NULL))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG: cannot write a %d×%d image with %d channels of %d bits",
                   img->width, img->height, img->channels, img->bit_depth);
      return FALSE;
    }

  gboolean ok = FALSE;
  png_text *texts = g_new0 (png_text, MAX (n_text, 1));
  char **latin1_keys = g_new0 (char *, MAX (n_text, 1) + 1);
  for (int i = 0; i < n_text; i++)
    {
      latin1_keys[i] = keyword_latin1 (keys[i], error);
      if (latin1_keys[i] == NULL)
        goto out;
      if (values[i] == NULL || !g_utf8_validate (values[i], -1, NULL))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_INVALID_ARGUMENT, "PNG text: the value of “%s” is not valid UTF-8", keys[i]);
          goto out;
        }
      texts[i].key = latin1_keys[i];
      texts[i].text = (char *) values[i];
      /* tEXt is Latin-1 and every reader knows it; anything beyond ASCII goes in iTXt as UTF-8. */
      if (is_ascii (values[i]))
        {
          texts[i].compression = PNG_TEXT_COMPRESSION_NONE;
          texts[i].text_length = strlen (values[i]);
        }
      else
        {
          texts[i].compression = PNG_ITXT_COMPRESSION_NONE;
          texts[i].itxt_length = strlen (values[i]);
        }
    }
  ok = encode_png (img, texts, n_text, out, error);

out:
  g_strfreev (latin1_keys);
  g_free (texts);
  return ok;
}

gboolean
sc_image_save_png (const ScImage *img, const char *path, const char *const *keys,
                   const char *const *values, int n_text, GError **error)
{
  g_return_val_if_fail (img != NULL && path != NULL, FALSE);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  return sc_image_encode_png (img, keys, values, n_text, buf, error)
         && sc_atomic_write (path, buf->data, buf->len, error);
}
