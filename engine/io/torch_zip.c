/* Zip reading for PyTorch archives (APPNOTE.TXT 6.3: end of central directory, ZIP64 locator and record,
 * central directory headers, local headers). Only what torch.save and common repackers produce is read:
 * one disk, stored or deflated entries, no encryption. Names are lookup keys only — nothing is ever
 * written to disk — but duplicates are refused so a lookup cannot be steered to a second copy. */
#include "io/torch_zip.h"

#include "core/error.h"

#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define MAX_ENTRIES 1000000

typedef struct {
  char *name;
  guint16 method;
  guint64 comp_size, size, local_offset;
  guint8 *inflated; /* owned copy for deflated entries, once read */
} ZipEntry;

struct ScZip {
  const guint8 *data;
  size_t len;
  ZipEntry *entries;
  size_t n_entries;
  GHashTable *by_name; /* name -> index + 1 */
  guint64 inflated_total;
};

static guint16
rd16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
rd32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
rd64 (const guint8 *p)
{
  return (guint64) rd32 (p) | ((guint64) rd32 (p + 4) << 32);
}

/* TRUE when [off, off + n) lies inside a buffer of len bytes. */
static gboolean
in_bounds (guint64 off, guint64 n, size_t len)
{
  return off <= len && n <= len - off;
}

static void
bad (GError **error, const char *what)
{
  g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Not a readable PyTorch zip archive: %s", what);
}

void
sc_zip_free (ScZip *zip)
{
  if (!zip)
    return;
  for (size_t i = 0; i < zip->n_entries; i++)
    {
      g_free (zip->entries[i].name);
      g_free (zip->entries[i].inflated);
    }
  g_free (zip->entries);
  if (zip->by_name)
    g_hash_table_destroy (zip->by_name);
  g_free (zip);
}

/* Reads the ZIP64 extra field: only the fields whose 32-bit slot was saturated are present, in order. */
static gboolean
read_zip64_extra (const guint8 *extra, size_t extra_len, ZipEntry *e, gboolean need_size, gboolean need_comp,
                  gboolean need_off)
{
  size_t p = 0;
  while (p + 4 <= extra_len)
    {
      guint16 id = rd16 (extra + p), n = rd16 (extra + p + 2);
      if (n > extra_len - p - 4)
        return FALSE;
      if (id == 0x0001)
        {
          const guint8 *f = extra + p + 4;
          size_t need = 8 * ((size_t) need_size + need_comp + need_off), q = 0;
          if (n < need)
            return FALSE;
          if (need_size)
            e->size = rd64 (f + q), q += 8;
          if (need_comp)
            e->comp_size = rd64 (f + q), q += 8;
          if (need_off)
            e->local_offset = rd64 (f + q);
          return TRUE;
        }
      p += 4 + (size_t) n;
    }
  return !need_size && !need_comp && !need_off;
}

static gboolean
find_eocd (const guint8 *d, size_t len, guint64 *cd_off, guint64 *cd_size, guint64 *n_entries, GError **error)
{
  if (len < 22)
    {
      bad (error, "the file is too short");
      return FALSE;
    }
  /* The record is the last 22 bytes plus a comment of up to 65535 bytes. */
  size_t lowest = len > 22 + 65535 ? len - 22 - 65535 : 0;
  size_t at = len - 22;
  for (;; at--)
    {
      if (rd32 (d + at) == SIG_EOCD && rd16 (d + at + 20) == len - at - 22)
        break;
      if (at == lowest)
        {
          bad (error, "no end-of-central-directory record (truncated or not a zip file)");
          return FALSE;
        }
    }
  guint16 disk = rd16 (d + at + 4), cd_disk = rd16 (d + at + 6);
  guint64 n_disk = rd16 (d + at + 8), n = rd16 (d + at + 10);
  *cd_size = rd32 (d + at + 12);
  *cd_off = rd32 (d + at + 16);
  if (n == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu || disk == 0xffff)
    {
      if (at < 20 || rd32 (d + at - 20) != SIG_LOCATOR64)
        {
          bad (error, "ZIP64 sizes without a ZIP64 locator");
          return FALSE;
        }
      guint64 rec = rd64 (d + at - 20 + 8);
      if (!in_bounds (rec, 56, len) || rec > at - 20 || rd32 (d + rec) != SIG_EOCD64)
        {
          bad (error, "the ZIP64 end-of-central-directory record is missing");
          return FALSE;
        }
      disk = rd32 (d + rec + 16) ? 1 : 0;
      cd_disk = rd32 (d + rec + 20) ? 1 : 0;
      n_disk = rd64 (d + rec + 24);
      n = rd64 (d + rec + 32);
      *cd_size = rd64 (d + rec + 40);
      *cd_off = rd64 (d + rec + 48);
    }
  if (disk != 0 || cd_disk != 0 || n_disk != n)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Multi-part zip archives are not supported");
      return FALSE;
    }
  if (!in_bounds (*cd_off, *cd_size, len))
    {
      bad (error, "the central directory lies outside the file (truncated?)");
      return FALSE;
    }
  if (n > MAX_ENTRIES || n > *cd_size / 46)
    {
      bad (error, "the entry count does not fit the central directory");
      return FALSE;
    }
  *n_entries = n;
  return TRUE;
}

ScZip *
sc_zip_open_memory (const void *data, size_t len, GError **error)
{
  const guint8 *d = data;
  guint64 cd_off, cd_size, n;
  if (!find_eocd (d, len, &cd_off, &cd_size, &n, error))
    return NULL;
  ScZip *zip = g_new0 (ScZip, 1);
  zip->data = d;
  zip->len = len;
  zip->entries = g_new0 (ZipEntry, n ? n : 1);
  zip->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  const guint8 *cd = d + cd_off;
  size_t p = 0;
  for (guint64 i = 0; i < n; i++)
    {
      if (p + 46 > cd_size || rd32 (cd + p) != SIG_CENTRAL)
        {
          bad (error, "a central directory entry is damaged");
          goto fail;
        }
      const guint8 *h = cd + p;
      guint16 flags = rd16 (h + 8), name_len = rd16 (h + 28), extra_len = rd16 (h + 30), comment_len = rd16 (h + 32);
      if (p + 46 + (size_t) name_len + extra_len + comment_len > cd_size)
        {
          bad (error, "a central directory entry runs past its end");
          goto fail;
        }
      ZipEntry *e = &zip->entries[zip->n_entries];
      e->method = rd16 (h + 10);
      e->comp_size = rd32 (h + 20);
      e->size = rd32 (h + 24);
      e->local_offset = rd32 (h + 42);
      if (!read_zip64_extra (h + 46 + name_len, extra_len, e, e->size == 0xffffffffu, e->comp_size == 0xffffffffu,
                             e->local_offset == 0xffffffffu))
        {
          bad (error, "a ZIP64 extra field is missing or short");
          goto fail;
        }
      if (memchr (h + 46, 0, name_len))
        {
          bad (error, "an entry name contains a NUL byte");
          goto fail;
        }
      e->name = g_strndup ((const char *) h + 46, name_len);
      zip->n_entries++;
      if (flags & 1)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Zip entry “%s” is encrypted", e->name);
          goto fail;
        }
      if (g_hash_table_contains (zip->by_name, e->name))
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Zip archive has two entries named “%s”", e->name);
          goto fail;
        }
      g_hash_table_insert (zip->by_name, e->name, GSIZE_TO_POINTER (zip->n_entries));
      p += 46 + (size_t) name_len + extra_len + comment_len;
    }
  return zip;
fail:
  sc_zip_free (zip);
  return NULL;
}

size_t
sc_zip_count (const ScZip *zip)
{
  return zip->n_entries;
}

const char *
sc_zip_name (const ScZip *zip, size_t index)
{
  g_return_val_if_fail (index < zip->n_entries, NULL);
  return zip->entries[index].name;
}

gssize
sc_zip_find (const ScZip *zip, const char *name)
{
  gsize v = GPOINTER_TO_SIZE (g_hash_table_lookup (zip->by_name, name));
  return v ? (gssize) v - 1 : -1;
}

static guint8 *
inflate_entry (const guint8 *src, guint64 comp_size, guint64 size, GError **error)
{
  guint8 *out = g_try_malloc (size ? size : 1);
  if (!out)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_OUT_OF_MEMORY, "Out of memory inflating a %" G_GUINT64_FORMAT
                   "-byte zip entry", size);
      return NULL;
    }
  if (size == 0)
    return out; /* nothing to check that matters */
  z_stream zs = { 0 };
  if (inflateInit2 (&zs, -MAX_WBITS) != Z_OK)
    {
      g_free (out);
      bad (error, "zlib could not start");
      return NULL;
    }
  /* zlib counts in uInt; feed and drain in chunks so sizes above 4 GB work. */
  guint64 in_left = comp_size, out_done = 0;
  int rc = Z_OK;
  const guint8 *in = src;
  while (rc == Z_OK)
    {
      if (zs.avail_in == 0 && in_left)
        {
          zs.next_in = (Bytef *) in;
          zs.avail_in = (uInt) MIN (in_left, (guint64) 1 << 30);
          in += zs.avail_in;
          in_left -= zs.avail_in;
        }
      if (zs.avail_out == 0)
        {
          if (out_done == size)
            break; /* more output than declared: caught below */
          zs.next_out = out + out_done;
          zs.avail_out = (uInt) MIN (size - out_done, (guint64) 1 << 30);
          out_done += zs.avail_out;
        }
      rc = inflate (&zs, Z_NO_FLUSH);
      if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0)
        break;
    }
  gboolean ok = rc == Z_STREAM_END && zs.avail_out == 0 && out_done == size;
  inflateEnd (&zs);
  if (!ok)
    {
      g_free (out);
      bad (error, "a compressed entry is damaged or its size is wrong");
      return NULL;
    }
  return out;
}

const guint8 *
sc_zip_data (ScZip *zip, size_t index, guint64 *len, GError **error)
{
  g_return_val_if_fail (index < zip->n_entries, NULL);
  ZipEntry *e = &zip->entries[index];
  guint64 off = e->local_offset;
  if (!in_bounds (off, 30, zip->len) || rd32 (zip->data + off) != SIG_LOCAL)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Zip entry “%s” has no local header (truncated file?)", e->name);
      return NULL;
    }
  guint64 start = off + 30 + rd16 (zip->data + off + 26) + rd16 (zip->data + off + 28);
  if (!in_bounds (start, e->comp_size, zip->len))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Zip entry “%s” runs past the end of the file (truncated?)",
                   e->name);
      return NULL;
    }
  const guint8 *src = zip->data + start;
  if (e->method == 0)
    {
      if (e->comp_size != e->size)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Stored zip entry “%s” has two different sizes", e->name);
          return NULL;
        }
      *len = e->size;
      return src;
    }
  if (e->method != 8)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Zip entry “%s” uses compression method %u (only stored "
                   "and deflate are read)", e->name, e->method);
      return NULL;
    }
  if (!e->inflated)
    {
      /* Deflate cannot expand more than ~1032:1; a larger claim is a lie (or a bomb). */
      if (e->size / 1032 > e->comp_size + 1 || e->size > SC_ZIP_MAX_INFLATE
          || zip->inflated_total + e->size > SC_ZIP_MAX_INFLATE)
        {
          g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "Compressed zip entry “%s” claims an implausible size "
                       "(%" G_GUINT64_FORMAT " bytes from %" G_GUINT64_FORMAT ")", e->name, e->size, e->comp_size);
          return NULL;
        }
      e->inflated = inflate_entry (src, e->comp_size, e->size, error);
      if (!e->inflated)
        {
          g_prefix_error (error, "Zip entry “%s”: ", e->name);
          return NULL;
        }
      zip->inflated_total += e->size;
    }
  *len = e->size;
  return e->inflated;
}
