/* Reading PNG text chunks without decoding pixels: a bounds-checked chunk walk (the text chunks' CRCs
 * verified) that collects tEXt, zTXt and iTXt. Keys and tEXt/zTXt values are Latin-1 and come back as UTF-8. */
#include "core/error.h"
#include "io/image.h"
#include "io/image_private.h"

#include <string.h>
#include <zlib.h>

#define MAX_TEXT_BYTES (64u << 20) /* per inflated chunk: bounds a zip bomb */

static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static char *
latin1_to_utf8 (const guint8 *p, size_t n)
{
  GString *s = g_string_sized_new (n);
  for (size_t i = 0; i < n; i++)
    g_string_append_unichar (s, p[i]);
  return g_string_free (s, FALSE);
}

static gboolean
inflate_text (const guint8 *p, size_t n, GByteArray **out, GError **error)
{
  z_stream zs = { 0 };
  if (inflateInit (&zs) != Z_OK)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "PNG text: cannot start zlib");
      return FALSE;
    }
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[16384];
  int rc = Z_OK;
  zs.next_in = (Bytef *) p;
  zs.avail_in = (uInt) n;
  while (rc == Z_OK)
    {
      zs.next_out = chunk;
      zs.avail_out = sizeof chunk;
      rc = inflate (&zs, Z_NO_FLUSH);
      g_byte_array_append (buf, chunk, (guint) (sizeof chunk - zs.avail_out));
      if (buf->len > MAX_TEXT_BYTES)
        rc = Z_MEM_ERROR;
      else if (rc == Z_BUF_ERROR && zs.avail_in == 0)
        rc = Z_DATA_ERROR; /* the stream ended early */
    }
  inflateEnd (&zs);
  if (rc != Z_STREAM_END)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, rc == Z_MEM_ERROR ? "PNG text: compressed text is larger than %u bytes"
                   : "PNG text: corrupt compressed text", MAX_TEXT_BYTES);
      g_byte_array_unref (buf);
      return FALSE;
    }
  *out = buf;
  return TRUE;
}

/* Parses one text chunk into key/value (UTF-8). Returns FALSE with error for a malformed chunk. */
static gboolean
parse_text_chunk (const char *type, const guint8 *p, size_t n, char **key, char **value, GError **error)
{
  const guint8 *nul = memchr (p, 0, n);
  if (nul == NULL || nul == p || nul - p > 79)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG %s chunk: missing or overlong keyword", type);
      return FALSE;
    }
  size_t klen = (size_t) (nul - p);
  const guint8 *rest = nul + 1;
  size_t rlen = n - klen - 1;
  g_autoptr (GByteArray) inflated = NULL;

  if (strcmp (type, "tEXt") == 0)
    {
      *value = latin1_to_utf8 (rest, rlen);
    }
  else if (strcmp (type, "zTXt") == 0)
    {
      if (rlen < 1 || rest[0] != 0 || !inflate_text (rest + 1, rlen - 1, &inflated, error))
        goto bad;
      *value = latin1_to_utf8 (inflated->data, inflated->len);
    }
  else /* iTXt: flag, method, language\0, translated keyword\0, text */
    {
      if (rlen < 2)
        goto bad;
      gboolean compressed = rest[0] != 0;
      const guint8 *q = rest + 2, *end = rest + rlen;
      for (int skip = 0; skip < 2; skip++)
        {
          const guint8 *z = memchr (q, 0, (size_t) (end - q));
          if (z == NULL)
            goto bad;
          q = z + 1;
        }
      const guint8 *text = q;
      size_t tlen = (size_t) (end - q);
      if (compressed)
        {
          if (rest[1] != 0 || !inflate_text (q, tlen, &inflated, error))
            goto bad;
          text = inflated->data;
          tlen = inflated->len;
        }
      /* Invalid UTF-8 from a foreign writer is repaired rather than refused. */
      *value = g_utf8_make_valid ((const char *) text, (gssize) tlen);
    }
  *key = latin1_to_utf8 (p, klen);
  return TRUE;

bad:
  if (error != NULL && *error == NULL)
    g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG %s chunk “%.*s” is malformed", type, (int) klen, p);
  return FALSE;
}

GHashTable *
sc_png_read_text_memory (const void *data, size_t len, GError **error)
{
  const guint8 *p = data;
  if (len < 8 || memcmp (p, png_magic, 8) != 0)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "not a PNG file");
      return NULL;
    }
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  size_t pos = 8;
  for (;;)
    {
      if (len - pos < 12)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG: the file is truncated (no IEND chunk)");
          goto fail;
        }
      guint32 n = be32 (p + pos);
      char type[5] = { 0 };
      memcpy (type, p + pos + 4, 4);
      if (n > len - pos - 12)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG: chunk %s claims %u bytes, past the end of the file",
                       g_ascii_isalpha (type[0]) ? type : "?", n);
          goto fail;
        }
      const guint8 *body = p + pos + 8;
      if (strcmp (type, "IEND") == 0)
        return table;
      if (strcmp (type, "tEXt") == 0 || strcmp (type, "zTXt") == 0 || strcmp (type, "iTXt") == 0)
        {
          /* only the text's own CRC: a damaged chunk of another kind (a layer picture, say) is for its own
           * reader to report, and must not cost the settings */
          guint32 crc = (guint32) crc32 (crc32 (0, NULL, 0), p + pos + 4, n + 4);
          if (crc != be32 (body + n))
            {
              g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "PNG: chunk %s has a bad CRC", type);
              goto fail;
            }
          char *key, *value;
          if (!parse_text_chunk (type, body, n, &key, &value, error))
            goto fail;
          g_hash_table_replace (table, key, value); /* a repeated key: the last one wins */
        }
      pos += (size_t) n + 12;
    }

fail:
  g_hash_table_unref (table);
  return NULL;
}

GHashTable *
sc_png_read_text (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) mf = g_mapped_file_new (path, FALSE, &local);
  if (mf == NULL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_IO, "%s", local->message);
      return NULL;
    }
  GHashTable *t = sc_png_read_text_memory (g_mapped_file_get_contents (mf), g_mapped_file_get_length (mf), &local);
  if (t == NULL)
    g_set_error (error, SC_ERROR, local->code, "%s: %s", path, local->message);
  return t;
}
