/* A small strict JSON parser for file headers we must not trust (safetensors).
 * Accepts: objects, arrays, strings (all escapes, \u surrogate pairs), integers that fit int64, true,
 * false, null, and JSON whitespace around the value (so space-padded headers parse).
 * Rejects, with SC_ERROR_FORMAT and the byte offset: fractions and exponents, leading zeros, duplicate
 * object keys, strings that are not valid UTF-8 or contain NUL (raw or \u0000) or raw control
 * characters, lone surrogates, nesting deeper than SC_JSON_MAX_DEPTH, and anything after the value
 * other than whitespace.
 * A document owns every value and string in it; they live until sc_json_doc_free. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SC_JSON_MAX_DEPTH 16

typedef enum {
  SC_JSON_NULL,
  SC_JSON_BOOL,
  SC_JSON_INT,
  SC_JSON_STRING,
  SC_JSON_ARRAY,
  SC_JSON_OBJECT,
} ScJsonType;

typedef struct ScJsonDoc ScJsonDoc;
typedef struct ScJsonValue ScJsonValue;

ScJsonDoc *sc_json_parse (const char *text, size_t len, GError **error);
void sc_json_doc_free (ScJsonDoc *doc);
const ScJsonValue *sc_json_doc_root (const ScJsonDoc *doc);

ScJsonType sc_json_type (const ScJsonValue *v);
/* "an object", "a string", ... for messages. */
const char *sc_json_type_describe (ScJsonType type);

gboolean sc_json_bool (const ScJsonValue *v);  /* FALSE unless a BOOL that is true */
int64_t sc_json_int (const ScJsonValue *v);    /* 0 unless an INT */
/* NUL-terminated, valid UTF-8, no embedded NUL; NULL unless a STRING. */
const char *sc_json_string (const ScJsonValue *v);
size_t sc_json_string_length (const ScJsonValue *v);

/* Members of an array or object (0 for other types). */
size_t sc_json_size (const ScJsonValue *v);
const ScJsonValue *sc_json_array_get (const ScJsonValue *v, size_t i);
/* Object members in document order. */
const char *sc_json_object_key (const ScJsonValue *v, size_t i);
const ScJsonValue *sc_json_object_value (const ScJsonValue *v, size_t i);
/* Linear search: meant for small objects (a tensor's fields), not for the top level of a header. */
const ScJsonValue *sc_json_object_get (const ScJsonValue *v, const char *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScJsonDoc, sc_json_doc_free)

G_END_DECLS
