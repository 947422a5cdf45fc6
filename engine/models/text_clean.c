/* CLIP prompt clean-up, matching Python's html.unescape, str.strip/re.sub(r'\s+', ' ') and str.lower. */
#include "models/text_clean.h"

#include "models/html_entities.h"
#include "models/unicode_tables.h"

#include <stdlib.h>
#include <string.h>

/* ---- html.unescape ---------------------------------------------------------------------------- */

/* Python matches named references with [^\t\n\f <&#;]{1,32};? */
#define NAME_MAX_CHARS 32

typedef struct {
  const char *key;
  size_t len;
} NameKey;

static int
entity_cmp (const void *pkey, const void *pentry)
{
  const NameKey *key = pkey;
  const char *name = ((const ScHtmlEntity *) pentry)->name;
  int c = strncmp (key->key, name, key->len);
  if (c != 0)
    return c;
  return name[key->len] == '\0' ? 0 : -1;
}

static const char *
entity_lookup (const char *name, size_t len)
{
  NameKey key = { name, len };
  const ScHtmlEntity *e = bsearch (&key, sc_html_entities, sc_html_entities_len, sizeof *e, entity_cmp);
  return e ? e->value : NULL;
}

static int
charref_cmp (const void *pkey, const void *pentry)
{
  uint32_t a = *(const uint32_t *) pkey, b = ((const ScHtmlCharref *) pentry)->num;
  return a < b ? -1 : a > b;
}

static int
u32_cmp (const void *pa, const void *pb)
{
  uint32_t a = *(const uint32_t *) pa, b = *(const uint32_t *) pb;
  return a < b ? -1 : a > b;
}

static void
append_charref (GString *out, uint32_t num)
{
  const ScHtmlCharref *r = bsearch (&num, sc_html_charref_remap, sc_html_charref_remap_len, sizeof *r,
                                    charref_cmp);
  if (r)
    g_string_append (out, r->value);
  else if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff)
    g_string_append (out, "\xef\xbf\xbd");
  else if (!bsearch (&num, sc_html_charref_dropped, sc_html_charref_dropped_len, sizeof num, u32_cmp))
    g_string_append_unichar (out, num);
}

/* A numeric reference at P (just after "&#"); returns the end of the match or NULL if none. */
static const char *
numeric_ref (const char *p, GString *out)
{
  gboolean hex = (*p == 'x' || *p == 'X') && g_ascii_isxdigit (p[1]);
  if (hex)
    p++;
  else if (!g_ascii_isdigit (*p))
    return NULL;
  uint32_t num = 0;
  for (; hex ? g_ascii_isxdigit (*p) : g_ascii_isdigit (*p); p++)
    {
      int d = hex ? g_ascii_xdigit_value (*p) : *p - '0';
      /* Saturate: anything past U+10FFFF maps the same way. */
      num = num > 0x10ffff ? num : num * (hex ? 16 : 10) + (uint32_t) d;
    }
  if (*p == ';')
    p++;
  append_charref (out, num);
  return p;
}

/* A named reference at P (just after "&"); returns the end of the match or NULL if none. */
static const char *
named_ref (const char *p, GString *out)
{
  /* Byte offsets of the first NAME_MAX_CHARS + 1 character boundaries. */
  size_t off[NAME_MAX_CHARS + 2];
  size_t nchars = 0, len = 0;
  off[0] = 0;
  while (nchars < NAME_MAX_CHARS && p[len] && !strchr ("\t\n\f <&#;", p[len]))
    {
      len = (size_t) (g_utf8_next_char (p + len) - p);
      off[++nchars] = len;
    }
  if (nchars == 0)
    return NULL;
  if (p[len] == ';')
    {
      len++;
      off[++nchars] = len;
    }
  const char *value = entity_lookup (p, len);
  if (value)
    {
      g_string_append (out, value);
      return p + len;
    }
  /* The longest known prefix of at least two characters; the rest is kept as text. */
  for (size_t x = nchars - 1; x >= 2; x--)
    if ((value = entity_lookup (p, off[x])))
      {
        g_string_append (out, value);
        g_string_append_len (out, p + off[x], (gssize) (len - off[x]));
        return p + len;
      }
  g_string_append_c (out, '&');
  g_string_append_len (out, p, (gssize) len);
  return p + len;
}

char *
sc_html_unescape (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;
  while (*p)
    {
      const char *amp = strchr (p, '&');
      if (!amp)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, amp - p);
      const char *end = amp[1] == '#' ? numeric_ref (amp + 2, out) : named_ref (amp + 1, out);
      if (end)
        p = end;
      else
        {
          g_string_append_c (out, '&');
          p = amp + 1;
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- str.lower -------------------------------------------------------------------------------- */

static int
lower_cmp (const void *pkey, const void *pentry)
{
  uint32_t a = *(const uint32_t *) pkey, b = ((const ScUnicodeLower *) pentry)->cp;
  return a < b ? -1 : a > b;
}

/* Python's final-sigma context: \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}*\p{cased}). */
static gboolean
is_final_sigma (const char *text, const char *sigma)
{
  const char *p = sigma;
  gunichar c = 0;
  gboolean found = FALSE;
  while (p > text)
    {
      p = g_utf8_prev_char (p);
      c = g_utf8_get_char (p);
      if (!SC_UNICODE_IS (case_ignorable, c))
        {
          found = TRUE;
          break;
        }
    }
  if (!found || !SC_UNICODE_IS (cased, c))
    return FALSE;
  for (p = g_utf8_next_char (sigma); *p; p = g_utf8_next_char (p))
    {
      c = g_utf8_get_char (p);
      if (!SC_UNICODE_IS (case_ignorable, c))
        return !SC_UNICODE_IS (cased, c);
    }
  return TRUE;
}

char *
sc_unicode_lower (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      if ((unsigned char) *p < 0x80)
        {
          g_string_append_c (out, g_ascii_tolower (*p));
          continue;
        }
      uint32_t c = g_utf8_get_char (p);
      const ScUnicodeLower *e = bsearch (&c, sc_unicode_lower_map, sc_unicode_lower_map_len, sizeof *e, lower_cmp);
      if (c == 0x3a3)
        g_string_append_unichar (out, is_final_sigma (text, p) ? 0x3c2 : 0x3c3);
      else if (!e)
        g_string_append_unichar (out, c);
      else
        {
          g_string_append_unichar (out, e->lower[0]);
          if (e->lower[1])
            g_string_append_unichar (out, e->lower[1]);
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- the whole clean-up ----------------------------------------------------------------------- */

/* Whitespace runs (str.isspace) → one space, and no space at either end. */
static char *
collapse_whitespace (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  gboolean pending = FALSE;
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (SC_UNICODE_IS (py_space, c))
        {
          pending = out->len > 0;
          continue;
        }
      if (pending)
        g_string_append_c (out, ' ');
      pending = FALSE;
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

char *
sc_clip_clean_text (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text ? text : "", -1);
  g_autofree char *once = sc_html_unescape (valid);
  g_autofree char *twice = sc_html_unescape (once);
  g_autofree char *spaced = collapse_whitespace (twice);
  g_autofree char *lower = sc_unicode_lower (spaced);
  return g_utf8_normalize (lower, -1, G_NORMALIZE_NFC);
}
