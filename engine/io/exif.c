/* EXIF orientation: TIFF header, IFD0, tag 0x0112. Everything read goes through rd16/rd32 with an
 * explicit bound, so a lying offset or count ends the search instead of reading past the buffer. */
#include "io/exif.h"

#include <string.h>

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3
#define MAX_IFD_ENTRIES 1024 /* more than any camera writes; stops a looping count early */

typedef struct {
  const guint8 *p;
  size_t len;
  gboolean big_endian;
} Tiff;

static gboolean
rd16 (const Tiff *t, size_t off, guint16 *v)
{
  if (off > t->len || t->len - off < 2)
    return FALSE;
  const guint8 *b = t->p + off;
  *v = t->big_endian ? (guint16) (b[0] << 8 | b[1]) : (guint16) (b[1] << 8 | b[0]);
  return TRUE;
}

static gboolean
rd32 (const Tiff *t, size_t off, guint32 *v)
{
  if (off > t->len || t->len - off < 4)
    return FALSE;
  const guint8 *b = t->p + off;
  if (t->big_endian)
    *v = (guint32) b[0] << 24 | (guint32) b[1] << 16 | (guint32) b[2] << 8 | b[3];
  else
    *v = (guint32) b[3] << 24 | (guint32) b[2] << 16 | (guint32) b[1] << 8 | b[0];
  return TRUE;
}

int
sc_exif_orientation (const void *data, size_t len)
{
  const guint8 *p = data;
  if (p == NULL)
    return 1;
  if (len >= 6 && memcmp (p, "Exif\0\0", 6) == 0)
    {
      p += 6;
      len -= 6;
    }
  if (len < 8)
    return 1;

  Tiff t = { p, len, FALSE };
  if (p[0] == 'M' && p[1] == 'M')
    t.big_endian = TRUE;
  else if (!(p[0] == 'I' && p[1] == 'I'))
    return 1;

  guint16 magic, count;
  guint32 ifd0;
  if (!rd16 (&t, 2, &magic) || magic != 42 || !rd32 (&t, 4, &ifd0) || !rd16 (&t, ifd0, &count))
    return 1;

  for (guint i = 0; i < count && i < MAX_IFD_ENTRIES; i++)
    {
      size_t entry = (size_t) ifd0 + 2 + 12 * (size_t) i;
      guint16 tag, type, value;
      guint32 n;
      if (!rd16 (&t, entry, &tag) || !rd16 (&t, entry + 2, &type) || !rd32 (&t, entry + 4, &n))
        return 1;
      if (tag != TAG_ORIENTATION)
        continue;
      /* One SHORT fits in the entry's value field, left-justified in either byte order. */
      if (type != TYPE_SHORT || n < 1 || !rd16 (&t, entry + 8, &value))
        return 1;
      return value >= 1 && value <= 8 ? value : 1;
    }
  return 1;
}
