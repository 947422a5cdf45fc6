/* A restricted pickle reader for PyTorch state dicts. It never runs anything: opcodes build plain values
 * (ints, floats, strings, tuples, lists, dicts) and the few callables a state dict names are recognised
 * from a fixed list and interpreted here (OrderedDict, torch's tensor rebuilders, storage classes).
 * A pickle that names anything else is refused, with the name in the message. Sizes, nesting, the stack
 * and the memo are bounded, so hostile input fails cleanly instead of exhausting memory. */
#pragma once
#include "core/dtype.h"
#include "core/tensor.h"

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  SC_PICKLE_NONE,
  SC_PICKLE_BOOL,
  SC_PICKLE_INT,
  SC_PICKLE_FLOAT,
  SC_PICKLE_STR,     /* text (UTF-8 as stored; not validated) */
  SC_PICKLE_BYTES,
  SC_PICKLE_TUPLE,
  SC_PICKLE_LIST,
  SC_PICKLE_DICT,    /* items: key, value, key, value, ... in insertion order (duplicates kept) */
  SC_PICKLE_GLOBAL,  /* a whitelisted callable or class, not yet called */
  SC_PICKLE_OPAQUE,  /* an object of a known harmless class we do not read (numpy scalars, Lightning callbacks) */
  SC_PICKLE_STORAGE, /* a persistent id ('storage', type, key, location, numel) */
  SC_PICKLE_TENSOR,
} ScPickleType;

typedef struct ScPickleValue ScPickleValue;

typedef struct {
  ScDType dtype;
  const char *key; /* NUL-terminated */
  int64_t numel;   /* elements of dtype the storage holds */
} ScPickleStorage;

typedef struct {
  const ScPickleValue *storage; /* SC_PICKLE_STORAGE */
  int64_t offset;               /* in elements */
  int ndim;
  int64_t shape[SC_MAX_DIMS];
  int64_t stride[SC_MAX_DIMS];
} ScPickleTensor;

struct ScPickleValue {
  ScPickleType type;
  union {
    gboolean b;
    int64_t i;
    double f;
    struct {
      const char *data; /* NUL-terminated copy */
      size_t len;
    } str;
    struct {
      ScPickleValue **items;
      size_t n, cap;
    } seq;
    int global;
    ScPickleStorage *storage;
    ScPickleTensor *tensor;
  } u;
};

typedef struct ScPickle ScPickle;

/* Runs the pickle in DATA (up to its STOP opcode; trailing bytes are ignored). The result lives until
 * sc_pickle_free. */
ScPickle *sc_pickle_load (const void *data, size_t len, GError **error);
const ScPickleValue *sc_pickle_root (const ScPickle *p);
void sc_pickle_free (ScPickle *p);

G_END_DECLS
