/* Strict JSON for untrusted headers: a recursive descent parser with a depth limit, building the tree
 * in an arena owned by the document. See json_lite.h for what is accepted. */
#include "io/json_lite.h"

#include "core/error.h"

#include <string.h>

typedef struct {
  const char *key;
  const ScJsonValue *value;
} ScJsonMember;

/* 16 bytes: a hostile header of "[0,0,0,..." costs 16 bytes per value plus an 8-byte item pointer, i.e. at
 * most 12 bytes of memory per byte of text. */
struct ScJsonValue {
  guint32 type;
  guint32 n; /* string length in bytes, or member count (texts are limited to 4 GiB) */
  union {
    gboolean b;
    int64_t i;
    const char *s;
    const ScJsonValue **items;
    const ScJsonMember *members;
  } u;
};

/* Arena: values and strings are carved from large blocks; a document is freed all at once. */
#define ARENA_BLOCK (64 * 1024)

typedef struct {
  GPtrArray *blocks;
  char *cur;
  size_t left;
} Arena;

G_STATIC_ASSERT (sizeof (ScJsonValue) == 16);

struct ScJsonDoc {
  Arena arena;
  const ScJsonValue *root;
};

static void *
arena_alloc (Arena *a, size_t size)
{
  size = (size + 7) & ~(size_t) 7;
  if (size > a->left)
    {
      if (size > ARENA_BLOCK / 4)
        {
          /* big allocations get their own block, so the current block's tail is not wasted */
          char *big = g_malloc (size);
          g_ptr_array_add (a->blocks, big);
          return big;
        }
      a->cur = g_malloc (ARENA_BLOCK);
      a->left = ARENA_BLOCK;
      g_ptr_array_add (a->blocks, a->cur);
    }
  void *p = a->cur;
  a->cur += size;
  a->left -= size;
  return p;
}

typedef struct {
  const char *text;
  size_t len;
  size_t pos;
  int depth;
  Arena *arena;
  GPtrArray *item_stack;  /* array elements being collected (ScJsonValue *) */
  GArray *member_stack;   /* object members being collected (ScJsonMember) */
  GError **error;
} Parser;

static gboolean G_GNUC_PRINTF (3, 4)
fail_at (Parser *p, size_t pos, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (p->error, SC_ERROR, SC_ERROR_FORMAT, "%s (at byte %zu)", msg, pos);
  g_free (msg);
  return FALSE;
}

/* Describes the byte at pos for an error message. */
static char *
describe_byte (Parser *p, size_t pos)
{
  if (pos >= p->len)
    return g_strdup ("the end of the text");
  unsigned char c = (unsigned char) p->text[pos];
  if (c >= 0x21 && c < 0x7f)
    return g_strdup_printf ("“%c”", c);
  return g_strdup_printf ("byte 0x%02x", c);
}

static gboolean G_GNUC_PRINTF (2, 3)
fail_unexpected (Parser *p, const char *expected_fmt, ...)
{
  va_list ap;
  va_start (ap, expected_fmt);
  char *expected = g_strdup_vprintf (expected_fmt, ap);
  va_end (ap);
  char *found = describe_byte (p, p->pos);
  fail_at (p, p->pos, "expected %s, found %s", expected, found);
  g_free (found);
  g_free (expected);
  return FALSE;
}

static void
skip_ws (Parser *p)
{
  while (p->pos < p->len)
    {
      char c = p->text[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits after "\u" at p->pos (which points at the 'u'). */
static gboolean
read_u_escape (Parser *p, guint32 *out)
{
  size_t start = p->pos - 1; /* the backslash */
  if (p->len - p->pos < 5)
    return fail_at (p, start, "truncated \\u escape");
  guint32 v = 0;
  for (int k = 1; k <= 4; k++)
    {
      int h = hex_value (p->text[p->pos + k]);
      if (h < 0)
        return fail_at (p, start, "\\u must be followed by 4 hexadecimal digits");
      v = (v << 4) | (guint32) h;
    }
  p->pos += 5;
  *out = v;
  return TRUE;
}

/* Parses a string starting at the opening quote. Returns the arena copy (NUL-terminated) and its length. */
static gboolean
parse_string (Parser *p, const char **out, size_t *out_len)
{
  size_t start = p->pos;
  p->pos++; /* opening quote */
  /* Find the closing quote first: the decoded string is never longer than the raw one. */
  size_t end = p->pos;
  gboolean has_escape = FALSE;
  while (end < p->len && p->text[end] != '"')
    {
      unsigned char c = (unsigned char) p->text[end];
      if (c < 0x20)
        return fail_at (p, end, "control character 0x%02x inside a string (it must be escaped)", c);
      if (c == '\\')
        {
          has_escape = TRUE;
          end++;
          if (end >= p->len)
            break;
        }
      end++;
    }
  if (end >= p->len)
    return fail_at (p, start, "string is not terminated");

  size_t raw_len = end - p->pos;
  char *buf = arena_alloc (p->arena, raw_len + 1);
  size_t n = 0;
  if (!has_escape)
    {
      memcpy (buf, p->text + p->pos, raw_len);
      n = raw_len;
      p->pos = end;
    }
  else
    while (p->pos < end)
      {
        char c = p->text[p->pos];
        if (c != '\\')
          {
            buf[n++] = c;
            p->pos++;
            continue;
          }
        size_t esc = p->pos;
        p->pos++;
        char e = p->text[p->pos];
        switch (e)
          {
          case '"': buf[n++] = '"'; p->pos++; break;
          case '\\': buf[n++] = '\\'; p->pos++; break;
          case '/': buf[n++] = '/'; p->pos++; break;
          case 'b': buf[n++] = '\b'; p->pos++; break;
          case 'f': buf[n++] = '\f'; p->pos++; break;
          case 'n': buf[n++] = '\n'; p->pos++; break;
          case 'r': buf[n++] = '\r'; p->pos++; break;
          case 't': buf[n++] = '\t'; p->pos++; break;
          case 'u':
            {
              guint32 cp;
              if (!read_u_escape (p, &cp))
                return FALSE;
              if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at (p, esc, "lone low surrogate \\u%04X", cp);
              if (cp >= 0xd800 && cp <= 0xdbff)
                {
                  guint32 lo;
                  if (p->pos + 1 >= end || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
                    return fail_at (p, esc, "high surrogate \\u%04X is not followed by a low surrogate", cp);
                  p->pos += 1; /* onto the 'u' */
                  if (!read_u_escape (p, &lo))
                    return FALSE;
                  if (lo < 0xdc00 || lo > 0xdfff)
                    return fail_at (p, esc, "high surrogate \\u%04X is not followed by a low surrogate", cp);
                  cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
              if (cp == 0)
                return fail_at (p, esc, "NUL characters (\\u0000) are not allowed in strings");
              /* An escape is at least 6 raw bytes and encodes to at most 4 (a pair: 12 raw bytes, 4 out). */
              n += (size_t) g_unichar_to_utf8 (cp, buf + n);
              break;
            }
          default:
            return fail_at (p, esc, "invalid escape sequence");
          }
      }
  buf[n] = '\0';
  p->pos = end + 1; /* closing quote */
  if (!g_utf8_validate_len (buf, n, NULL))
    return fail_at (p, start, "string is not valid UTF-8");
  *out = buf;
  *out_len = n;
  return TRUE;
}

static gboolean
parse_int (Parser *p, int64_t *out)
{
  size_t start = p->pos;
  gboolean neg = FALSE;
  if (p->text[p->pos] == '-')
    {
      neg = TRUE;
      p->pos++;
    }
  if (p->pos >= p->len || p->text[p->pos] < '0' || p->text[p->pos] > '9')
    return fail_at (p, start, "“-” must be followed by a digit");
  if (p->text[p->pos] == '0' && p->pos + 1 < p->len && p->text[p->pos + 1] >= '0' && p->text[p->pos + 1] <= '9')
    return fail_at (p, start, "numbers must not have leading zeros");
  guint64 mag = 0;
  const guint64 limit = neg ? (guint64) INT64_MAX + 1 : (guint64) INT64_MAX;
  while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
    {
      guint64 d = (guint64) (p->text[p->pos] - '0');
      if (mag > (limit - d) / 10)
        return fail_at (p, start, "integer does not fit in 64 bits");
      mag = mag * 10 + d;
      p->pos++;
    }
  if (p->pos < p->len && (p->text[p->pos] == '.' || p->text[p->pos] == 'e' || p->text[p->pos] == 'E'))
    return fail_at (p, start, "only integers are supported (no fractions or exponents)");
  *out = neg ? (int64_t) (0 - mag) : (int64_t) mag;
  return TRUE;
}

static const ScJsonValue *parse_value (Parser *p);

static gboolean
key_is_duplicate (Parser *p, size_t first, const char *key, GHashTable **seen)
{
  size_t count = p->member_stack->len - first;
  /* Small objects: compare directly; big ones (a header's top level): a hash set. */
  if (count < 16)
    {
      for (size_t i = first; i < p->member_stack->len; i++)
        if (strcmp (g_array_index (p->member_stack, ScJsonMember, i).key, key) == 0)
          return TRUE;
      return FALSE;
    }
  if (*seen == NULL)
    {
      *seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (size_t i = first; i < p->member_stack->len; i++)
        g_hash_table_add (*seen, (gpointer) g_array_index (p->member_stack, ScJsonMember, i).key);
    }
  return !g_hash_table_add (*seen, (gpointer) key);
}

static const ScJsonValue *
parse_object (Parser *p, ScJsonValue *v)
{
  size_t first = p->member_stack->len;
  GHashTable *seen = NULL;
  gboolean ok = FALSE;
  p->pos++; /* '{' */
  skip_ws (p);
  if (p->pos < p->len && p->text[p->pos] == '}')
    {
      p->pos++;
      ok = TRUE;
      goto done;
    }
  for (;;)
    {
      skip_ws (p);
      if (p->pos >= p->len || p->text[p->pos] != '"')
        {
          fail_unexpected (p, "a string key");
          goto done;
        }
      size_t key_pos = p->pos;
      const char *key;
      size_t key_len;
      if (!parse_string (p, &key, &key_len))
        goto done;
      if (key_is_duplicate (p, first, key, &seen))
        {
          fail_at (p, key_pos, "duplicate key “%s”", key);
          goto done;
        }
      skip_ws (p);
      if (p->pos >= p->len || p->text[p->pos] != ':')
        {
          fail_unexpected (p, "“:”");
          goto done;
        }
      p->pos++;
      const ScJsonValue *child = parse_value (p);
      if (!child)
        goto done;
      ScJsonMember m = { key, child };
      g_array_append_val (p->member_stack, m);
      skip_ws (p);
      if (p->pos < p->len && p->text[p->pos] == ',')
        {
          p->pos++;
          continue;
        }
      if (p->pos < p->len && p->text[p->pos] == '}')
        {
          p->pos++;
          ok = TRUE;
          break;
        }
      fail_unexpected (p, "“,” or “}”");
      goto done;
    }
done:
  if (seen)
    g_hash_table_destroy (seen);
  if (ok)
    {
      v->n = p->member_stack->len - first;
      ScJsonMember *members = arena_alloc (p->arena, v->n * sizeof (ScJsonMember) + 1);
      if (v->n)
        memcpy (members, &g_array_index (p->member_stack, ScJsonMember, first), v->n * sizeof (ScJsonMember));
      v->u.members = members;
    }
  g_array_set_size (p->member_stack, first);
  return ok ? v : NULL;
}

static const ScJsonValue *
parse_array (Parser *p, ScJsonValue *v)
{
  guint first = p->item_stack->len;
  gboolean ok = FALSE;
  p->pos++; /* '[' */
  skip_ws (p);
  if (p->pos < p->len && p->text[p->pos] == ']')
    {
      p->pos++;
      ok = TRUE;
      goto done;
    }
  for (;;)
    {
      const ScJsonValue *child = parse_value (p);
      if (!child)
        goto done;
      g_ptr_array_add (p->item_stack, (gpointer) child);
      skip_ws (p);
      if (p->pos < p->len && p->text[p->pos] == ',')
        {
          p->pos++;
          continue;
        }
      if (p->pos < p->len && p->text[p->pos] == ']')
        {
          p->pos++;
          ok = TRUE;
          break;
        }
      fail_unexpected (p, "“,” or “]”");
      goto done;
    }
done:
  if (ok)
    {
      v->n = p->item_stack->len - first;
      const ScJsonValue **items = arena_alloc (p->arena, v->n * sizeof (ScJsonValue *) + 1);
      if (v->n)
        memcpy (items, &p->item_stack->pdata[first], v->n * sizeof (ScJsonValue *));
      v->u.items = items;
    }
  g_ptr_array_set_size (p->item_stack, first);
  return ok ? v : NULL;
}

static gboolean
match_literal (Parser *p, const char *word)
{
  size_t n = strlen (word);
  if (p->len - p->pos >= n && memcmp (p->text + p->pos, word, n) == 0)
    {
      p->pos += n;
      return TRUE;
    }
  return FALSE;
}

static const ScJsonValue *
parse_value (Parser *p)
{
  skip_ws (p);
  if (p->pos >= p->len)
    {
      fail_unexpected (p, "a value");
      return NULL;
    }
  ScJsonValue *v = arena_alloc (p->arena, sizeof (ScJsonValue));
  memset (v, 0, sizeof *v);
  char c = p->text[p->pos];
  switch (c)
    {
    case '{':
    case '[':
      {
        if (p->depth >= SC_JSON_MAX_DEPTH)
          {
            fail_at (p, p->pos, "nesting deeper than %d levels", SC_JSON_MAX_DEPTH);
            return NULL;
          }
        p->depth++;
        const ScJsonValue *r;
        if (c == '{')
          {
            v->type = SC_JSON_OBJECT;
            r = parse_object (p, v);
          }
        else
          {
            v->type = SC_JSON_ARRAY;
            r = parse_array (p, v);
          }
        p->depth--;
        return r;
      }
    case '"':
      v->type = SC_JSON_STRING;
      {
        size_t n;
        if (!parse_string (p, &v->u.s, &n))
          return NULL;
        v->n = (guint32) n;
        return v;
      }
    case 't':
    case 'f':
    case 'n':
      if (match_literal (p, "true"))
        {
          v->type = SC_JSON_BOOL;
          v->u.b = TRUE;
        }
      else if (match_literal (p, "false"))
        {
          v->type = SC_JSON_BOOL;
          v->u.b = FALSE;
        }
      else if (match_literal (p, "null"))
        v->type = SC_JSON_NULL;
      else
        {
          fail_unexpected (p, "a value");
          return NULL;
        }
      return v;
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        {
          v->type = SC_JSON_INT;
          return parse_int (p, &v->u.i) ? v : NULL;
        }
      fail_unexpected (p, "a value");
      return NULL;
    }
}

ScJsonDoc *
sc_json_parse (const char *text, size_t len, GError **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  if (len > G_MAXUINT32)
    {
      g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "JSON text of %zu bytes is too long (at most 4 GiB)", len);
      return NULL;
    }
  ScJsonDoc *doc = g_new0 (ScJsonDoc, 1);
  doc->arena.blocks = g_ptr_array_new_with_free_func (g_free);
  Parser p = {
    .text = text,
    .len = len,
    .arena = &doc->arena,
    .item_stack = g_ptr_array_new (),
    .member_stack = g_array_new (FALSE, FALSE, sizeof (ScJsonMember)),
    .error = error,
  };
  doc->root = parse_value (&p);
  if (doc->root)
    {
      skip_ws (&p);
      if (p.pos < p.len)
        {
          fail_unexpected (&p, "the end of the text after the value");
          doc->root = NULL;
        }
    }
  g_ptr_array_free (p.item_stack, TRUE);
  g_array_free (p.member_stack, TRUE);
  if (!doc->root)
    {
      sc_json_doc_free (doc);
      return NULL;
    }
  return doc;
}

void
sc_json_doc_free (ScJsonDoc *doc)
{
  if (!doc)
    return;
  g_ptr_array_free (doc->arena.blocks, TRUE);
  g_free (doc);
}

const ScJsonValue *
sc_json_doc_root (const ScJsonDoc *doc)
{
  return doc->root;
}

ScJsonType
sc_json_type (const ScJsonValue *v)
{
  return (ScJsonType) v->type;
}

const char *
sc_json_type_describe (ScJsonType type)
{
  switch (type)
    {
    case SC_JSON_NULL: return "null";
    case SC_JSON_BOOL: return "a boolean";
    case SC_JSON_INT: return "an integer";
    case SC_JSON_STRING: return "a string";
    case SC_JSON_ARRAY: return "an array";
    case SC_JSON_OBJECT: return "an object";
    }
  return "?";
}

gboolean
sc_json_bool (const ScJsonValue *v)
{
  return v->type == SC_JSON_BOOL && v->u.b;
}

int64_t
sc_json_int (const ScJsonValue *v)
{
  return v->type == SC_JSON_INT ? v->u.i : 0;
}

const char *
sc_json_string (const ScJsonValue *v)
{
  return v->type == SC_JSON_STRING ? v->u.s : NULL;
}

size_t
sc_json_string_length (const ScJsonValue *v)
{
  return v->type == SC_JSON_STRING ? v->n : 0;
}

size_t
sc_json_size (const ScJsonValue *v)
{
  return v->type == SC_JSON_ARRAY || v->type == SC_JSON_OBJECT ? v->n : 0;
}

const ScJsonValue *
sc_json_array_get (const ScJsonValue *v, size_t i)
{
  g_return_val_if_fail (v->type == SC_JSON_ARRAY && i < v->n, NULL);
  return v->u.items[i];
}

const char *
sc_json_object_key (const ScJsonValue *v, size_t i)
{
  g_return_val_if_fail (v->type == SC_JSON_OBJECT && i < v->n, NULL);
  return v->u.members[i].key;
}

const ScJsonValue *
sc_json_object_value (const ScJsonValue *v, size_t i)
{
  g_return_val_if_fail (v->type == SC_JSON_OBJECT && i < v->n, NULL);
  return v->u.members[i].value;
}

const ScJsonValue *
sc_json_object_get (const ScJsonValue *v, const char *key)
{
  if (v->type != SC_JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < v->n; i++)
    if (strcmp (v->u.members[i].key, key) == 0)
      return v->u.members[i].value;
  return NULL;
}
