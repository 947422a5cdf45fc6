/* CLIP prompt clean-up (openai/CLIP basic_clean + whitespace_clean + lower), without ftfy. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Python's html.unescape() of valid UTF-8 TEXT: named (HTML5) and numeric character references. */
char *sc_html_unescape (const char *text);
/* Python's str.lower() of valid UTF-8 TEXT: full mappings ('İ' → "i̇") and the final-sigma rule. */
char *sc_unicode_lower (const char *text);
/* The whole clean-up, in the reference's order: repair invalid UTF-8 (U+FFFD), html.unescape twice,
 * collapse whitespace runs to one space and strip, lower-case, NFC. ftfy.fix_text is not applied: it
 * only repairs mojibake, which prompts typed into the app do not have. */
char *sc_clip_clean_text (const char *text);

G_END_DECLS
