/* Unicode data for the CLIP tokenizer, generated from the Python that made the reference tokens
 * (tests/reference/gen_unicode_tables.py), so character classes and lower-casing agree with it. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  uint32_t lo, hi; /* inclusive */
} ScUnicodeRange;

/* str.lower() of one code point: one or two code points (lower[1] == 0 when one). */
typedef struct {
  uint32_t cp;
  uint32_t lower[2];
} ScUnicodeLower;

extern const ScUnicodeRange sc_unicode_letter[];         /* regex [\p{L}] */
extern const size_t sc_unicode_letter_len;
extern const ScUnicodeRange sc_unicode_number[];         /* regex [\p{N}] */
extern const size_t sc_unicode_number_len;
extern const ScUnicodeRange sc_unicode_regex_skip[];     /* in no class of the CLIP regex: \s, U+0345 */
extern const size_t sc_unicode_regex_skip_len;
extern const ScUnicodeRange sc_unicode_py_space[];       /* str.isspace(), re's \s */
extern const size_t sc_unicode_py_space_len;
extern const ScUnicodeRange sc_unicode_cased[];          /* Cased (of the non-case-ignorable ones) */
extern const size_t sc_unicode_cased_len;
extern const ScUnicodeRange sc_unicode_case_ignorable[]; /* Case_Ignorable */
extern const size_t sc_unicode_case_ignorable_len;
extern const ScUnicodeLower sc_unicode_lower_map[];          /* sorted by cp */
extern const size_t sc_unicode_lower_map_len;

static inline gboolean
sc_unicode_in (const ScUnicodeRange *table, size_t len, uint32_t cp)
{
  size_t lo = 0, hi = len;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (cp < table[mid].lo)
        hi = mid;
      else if (cp > table[mid].hi)
        lo = mid + 1;
      else
        return TRUE;
    }
  return FALSE;
}

#define SC_UNICODE_IS(name, cp) sc_unicode_in (sc_unicode_##name, sc_unicode_##name##_len, (cp))

G_END_DECLS
