/* The restricted pickle VM. Opcode meanings follow the pickle protocol documentation (PEP 307, 3154,
 * 574 and the opcode notes in CPython's pickletools). Only binary protocols 2–5 are read: that is what
 * torch.save writes. Values live in an arena freed with the ScPickle; the memo and the stack hold
 * pointers into it, so shared and even cyclic structures cost nothing to build (readers of the result
 * must bound their own walks). */
#include "io/pickle.h"

#include "core/error.h"

#include <stdarg.h>
#include <string.h>

#define MAX_STACK 1000000
#define MAX_MARKS 10000
#define MAX_MEMO 2000000
#define MAX_VALUES 4000000

/* Callables and classes a state dict may name. Storage classes are STORAGE_BASE + ScDType. */
enum {
  G_ORDERED_DICT,
  G_REBUILD_TENSOR_V2,
  G_REBUILD_TENSOR,
  G_REBUILD_PARAMETER,
  G_REBUILD_PARAMETER_STATE,
  G_INERT, /* harmless classes whose instances we never read: calling them makes an opaque value */
  G_STORAGE_BASE,
};

static const struct {
  const char *module, *name;
  int id;
} whitelist[] = {
  { "collections", "OrderedDict", G_ORDERED_DICT },
  { "torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2 },
  { "torch._utils", "_rebuild_tensor", G_REBUILD_TENSOR },
  { "torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER },
  { "torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_STATE },
  { "torch", "FloatStorage", G_STORAGE_BASE + SC_DTYPE_F32 },
  { "torch", "HalfStorage", G_STORAGE_BASE + SC_DTYPE_F16 },
  { "torch", "BFloat16Storage", G_STORAGE_BASE + SC_DTYPE_BF16 },
  { "torch", "DoubleStorage", G_STORAGE_BASE + SC_DTYPE_F64 },
  { "torch", "LongStorage", G_STORAGE_BASE + SC_DTYPE_I64 },
  { "torch", "IntStorage", G_STORAGE_BASE + SC_DTYPE_I32 },
  { "torch", "ShortStorage", G_STORAGE_BASE + SC_DTYPE_I16 },
  { "torch", "CharStorage", G_STORAGE_BASE + SC_DTYPE_I8 },
  { "torch", "ByteStorage", G_STORAGE_BASE + SC_DTYPE_U8 },
  { "torch", "BoolStorage", G_STORAGE_BASE + SC_DTYPE_BOOL },
  /* Full training checkpoints (sd-v1-4.ckpt and the like) carry Lightning callbacks and numpy scalars
   * next to the state dict; they are data classes, and we only ever record that they were there. */
  { "numpy.core.multiarray", "scalar", G_INERT },
  { "numpy._core.multiarray", "scalar", G_INERT },
  { "numpy.core.multiarray", "_reconstruct", G_INERT },
  { "numpy._core.multiarray", "_reconstruct", G_INERT },
  { "numpy", "dtype", G_INERT },
  { "numpy", "ndarray", G_INERT },
  { "_codecs", "encode", G_INERT },
  { "torch.torch_version", "TorchVersion", G_INERT },
  { "pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint", G_INERT },
  { "lightning.pytorch.callbacks.model_checkpoint", "ModelCheckpoint", G_INERT },
};

struct ScPickle {
  GPtrArray *arena; /* every value */
  const ScPickleValue *root;
};

typedef struct {
  ScPickle *p;
  const guint8 *data;
  size_t len, pos, op_pos;
  GPtrArray *stack;
  GArray *marks;    /* stack lengths */
  GHashTable *memo; /* index -> value */
  GError **error;
} Vm;

static void
value_free (gpointer v)
{
  ScPickleValue *x = v;
  switch (x->type)
    {
    case SC_PICKLE_STR:
    case SC_PICKLE_BYTES:
      g_free ((char *) x->u.str.data);
      break;
    case SC_PICKLE_TUPLE:
    case SC_PICKLE_LIST:
    case SC_PICKLE_DICT:
      g_free (x->u.seq.items);
      break;
    case SC_PICKLE_STORAGE:
      if (x->u.storage)
        g_free ((char *) x->u.storage->key);
      g_free (x->u.storage);
      break;
    case SC_PICKLE_TENSOR:
      g_free (x->u.tensor);
      break;
    default:
      break;
    }
  g_free (x);
}

void
sc_pickle_free (ScPickle *p)
{
  if (!p)
    return;
  g_ptr_array_unref (p->arena);
  g_free (p);
}

const ScPickleValue *
sc_pickle_root (const ScPickle *p)
{
  return p->root;
}

static gboolean G_GNUC_PRINTF (2, 3)
vm_fail (Vm *vm, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (vm->error, SC_ERROR, SC_ERROR_FORMAT, "Malformed pickle at byte %zu: %s", vm->op_pos, msg);
  g_free (msg);
  return FALSE;
}

static ScPickleValue *
vm_new (Vm *vm, ScPickleType type)
{
  if (vm->p->arena->len >= MAX_VALUES)
    {
      vm_fail (vm, "more than %d objects", MAX_VALUES);
      return NULL;
    }
  ScPickleValue *v = g_new0 (ScPickleValue, 1);
  v->type = type;
  g_ptr_array_add (vm->p->arena, v);
  return v;
}

static gboolean
push (Vm *vm, ScPickleValue *v)
{
  if (!v)
    return FALSE;
  if (vm->stack->len >= MAX_STACK)
    return vm_fail (vm, "the stack grows beyond %d items", MAX_STACK);
  g_ptr_array_add (vm->stack, v);
  return TRUE;
}

/* The bottom of the current frame: values below the last MARK are not ours to pop. */
static guint
floor_of (Vm *vm)
{
  return vm->marks->len ? g_array_index (vm->marks, guint, vm->marks->len - 1) : 0;
}

static ScPickleValue *
pop (Vm *vm)
{
  if (vm->stack->len <= floor_of (vm))
    {
      vm_fail (vm, "pops from an empty stack");
      return NULL;
    }
  return g_ptr_array_steal_index (vm->stack, vm->stack->len - 1);
}

static ScPickleValue *
top (Vm *vm)
{
  if (vm->stack->len <= floor_of (vm))
    {
      vm_fail (vm, "reads an empty stack");
      return NULL;
    }
  return g_ptr_array_index (vm->stack, vm->stack->len - 1);
}

/* Pops back to the last MARK; the popped items stay readable at *items until the next push. */
static gboolean
pop_mark (Vm *vm, ScPickleValue ***items, size_t *n)
{
  if (!vm->marks->len)
    return vm_fail (vm, "uses a MARK that was never set");
  guint m = g_array_index (vm->marks, guint, vm->marks->len - 1);
  g_array_set_size (vm->marks, vm->marks->len - 1);
  *items = m < vm->stack->len ? (ScPickleValue **) vm->stack->pdata + m : NULL;
  *n = vm->stack->len - m;
  g_ptr_array_set_size (vm->stack, m); /* shrinking keeps the pointers above len in place */
  return TRUE;
}

static gboolean
seq_append (Vm *vm, ScPickleValue *seq, ScPickleValue *item)
{
  if (seq->u.seq.n == seq->u.seq.cap)
    {
      if (seq->u.seq.cap >= MAX_STACK * (size_t) 2)
        return vm_fail (vm, "a container grows beyond %d items", MAX_STACK * 2);
      seq->u.seq.cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
      seq->u.seq.items = g_renew (ScPickleValue *, seq->u.seq.items, seq->u.seq.cap);
    }
  seq->u.seq.items[seq->u.seq.n++] = item;
  return TRUE;
}

static ScPickleValue *
make_seq (Vm *vm, ScPickleType type, ScPickleValue **items, size_t n)
{
  ScPickleValue *v = vm_new (vm, type);
  if (!v)
    return NULL;
  if (n)
    {
      v->u.seq.items = g_memdup2 (items, n * sizeof *items);
      v->u.seq.n = v->u.seq.cap = n;
    }
  return v;
}

static const guint8 *
take (Vm *vm, size_t n)
{
  if (n > vm->len - vm->pos)
    {
      vm_fail (vm, "ends early (the file is truncated)");
      return NULL;
    }
  const guint8 *p = vm->data + vm->pos;
  vm->pos += n;
  return p;
}

static gboolean
take_uint (Vm *vm, int bytes, guint64 *out)
{
  const guint8 *p = take (vm, (size_t) bytes);
  if (!p)
    return FALSE;
  guint64 v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  *out = v;
  return TRUE;
}

static gboolean
push_int (Vm *vm, int64_t i)
{
  ScPickleValue *v = vm_new (vm, SC_PICKLE_INT);
  if (v)
    v->u.i = i;
  return push (vm, v);
}

static gboolean
push_string (Vm *vm, ScPickleType type, int len_bytes)
{
  guint64 n;
  if (!take_uint (vm, len_bytes, &n))
    return FALSE;
  if (n > vm->len - vm->pos)
    return vm_fail (vm, "a string of %" G_GUINT64_FORMAT " bytes runs past the end", n);
  ScPickleValue *v = vm_new (vm, type);
  if (!v)
    return FALSE;
  v->u.str.data = g_strndup ((const char *) vm->data + vm->pos, n);
  v->u.str.len = n;
  vm->pos += n;
  return push (vm, v);
}

/* LONG1 / LONG4: little-endian two's complement of n bytes. */
static gboolean
push_long (Vm *vm, int len_bytes)
{
  guint64 n;
  if (!take_uint (vm, len_bytes, &n))
    return FALSE;
  if (n > 8)
    return vm_fail (vm, "an integer of %" G_GUINT64_FORMAT " bytes is too large", n);
  const guint8 *p = take (vm, n);
  if (!p)
    return FALSE;
  guint64 u = 0;
  for (int i = (int) n - 1; i >= 0; i--)
    u = (u << 8) | p[i];
  if (n > 0 && n < 8 && (p[n - 1] & 0x80))
    u |= ~(guint64) 0 << (8 * n); /* sign-extend */
  return push_int (vm, (int64_t) u);
}

static gboolean
is_str (const ScPickleValue *v)
{
  return v && v->type == SC_PICKLE_STR;
}

static gboolean
resolve_global (Vm *vm, const char *module, const char *name)
{
  for (size_t i = 0; i < G_N_ELEMENTS (whitelist); i++)
    if (strcmp (module, whitelist[i].module) == 0 && strcmp (name, whitelist[i].name) == 0)
      {
        ScPickleValue *v = vm_new (vm, SC_PICKLE_GLOBAL);
        if (v)
          v->u.global = whitelist[i].id;
        return push (vm, v);
      }
  if (strcmp (module, "torch") == 0 && g_str_has_suffix (name, "Storage"))
    g_set_error (vm->error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                 "The file stores tensors as torch.%s, a type this version cannot read", name);
  else
    {
      /* Quote at most a sane length of whatever the file wrote. */
      g_autofree char *what = g_strdup_printf ("%.80s.%.80s", module, name);
      g_set_error (vm->error, SC_ERROR, SC_ERROR_FORMAT,
                   "Not loaded: the file asks to call %s (a pickle can run code; only state dicts are read)",
                   g_str_is_ascii (what) ? what : "a non-ASCII name");
    }
  return FALSE;
}

/* GLOBAL: "module\nname\n" in the opcode stream. */
static gboolean
op_global (Vm *vm)
{
  const char *start = (const char *) vm->data + vm->pos;
  size_t left = vm->len - vm->pos;
  const char *nl1 = memchr (start, '\n', MIN (left, 4096));
  if (!nl1)
    return vm_fail (vm, "GLOBAL without a module line");
  const char *nl2 = memchr (nl1 + 1, '\n', MIN (left - (size_t) (nl1 + 1 - start), 4096));
  if (!nl2)
    return vm_fail (vm, "GLOBAL without a name line");
  g_autofree char *module = g_strndup (start, (size_t) (nl1 - start));
  g_autofree char *name = g_strndup (nl1 + 1, (size_t) (nl2 - nl1 - 1));
  vm->pos += (size_t) (nl2 + 1 - start);
  return resolve_global (vm, module, name);
}

static gboolean
int_arg (const ScPickleValue *v, int64_t *out)
{
  if (!v || (v->type != SC_PICKLE_INT && v->type != SC_PICKLE_BOOL))
    return FALSE;
  *out = v->type == SC_PICKLE_INT ? v->u.i : v->u.b;
  return TRUE;
}

static gboolean
int_tuple (const ScPickleValue *v, int *ndim, int64_t *out)
{
  if (!v || (v->type != SC_PICKLE_TUPLE && v->type != SC_PICKLE_LIST) || v->u.seq.n > SC_MAX_DIMS)
    return FALSE;
  for (size_t i = 0; i < v->u.seq.n; i++)
    if (!int_arg (v->u.seq.items[i], &out[i]) || out[i] < 0)
      return FALSE;
  *ndim = (int) v->u.seq.n;
  return TRUE;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) and
 * _rebuild_tensor(storage, offset, size, stride): a strided view of a storage. */
static ScPickleValue *
rebuild_tensor (Vm *vm, ScPickleValue **a, size_t n, gboolean v2)
{
  if (v2 ? (n != 6 && n != 7) : n != 4)
    {
      vm_fail (vm, "a tensor is rebuilt with %zu arguments", n);
      return NULL;
    }
  ScPickleTensor t = { 0 };
  int stride_ndim = -1;
  if (a[0]->type != SC_PICKLE_STORAGE)
    {
      vm_fail (vm, "a tensor's storage is not a storage reference");
      return NULL;
    }
  if (!int_arg (a[1], &t.offset) || t.offset < 0 || !int_tuple (a[2], &t.ndim, t.shape)
      || !int_tuple (a[3], &stride_ndim, t.stride) || stride_ndim != t.ndim)
    {
      if (a[2] && (a[2]->type == SC_PICKLE_TUPLE || a[2]->type == SC_PICKLE_LIST) && a[2]->u.seq.n > SC_MAX_DIMS)
        {
          g_set_error (vm->error, SC_ERROR, SC_ERROR_UNSUPPORTED, "A tensor has %zu dimensions; at most %d are "
                       "supported", a[2]->u.seq.n, SC_MAX_DIMS);
          return NULL;
        }
      vm_fail (vm, "a tensor has an invalid offset, shape or stride");
      return NULL;
    }
  t.storage = a[0];
  ScPickleValue *v = vm_new (vm, SC_PICKLE_TENSOR);
  if (v)
    v->u.tensor = g_memdup2 (&t, sizeof t);
  return v;
}

static const char *
type_name (const ScPickleValue *v)
{
  static const char *const names[] = { "None", "bool", "int", "float", "str", "bytes", "tuple", "list",
                                       "dict", "class", "object", "storage", "tensor" };
  return names[v->type];
}

/* REDUCE / NEWOBJ: call a whitelisted callable on a tuple of arguments. */
static gboolean
call (Vm *vm, ScPickleValue *fn, ScPickleValue *args)
{
  if (fn->type != SC_PICKLE_GLOBAL)
    return vm_fail (vm, "calls a %s", type_name (fn));
  if (args->type != SC_PICKLE_TUPLE)
    return vm_fail (vm, "call arguments are a %s, not a tuple", type_name (args));
  ScPickleValue **a = args->u.seq.items;
  size_t n = args->u.seq.n;
  switch (fn->u.global)
    {
    case G_ORDERED_DICT:
      if (n != 0)
        return vm_fail (vm, "OrderedDict is called with arguments");
      return push (vm, vm_new (vm, SC_PICKLE_DICT));
    case G_REBUILD_TENSOR_V2:
    case G_REBUILD_TENSOR:
      return push (vm, rebuild_tensor (vm, a, n, fn->u.global == G_REBUILD_TENSOR_V2));
    case G_REBUILD_PARAMETER:
    case G_REBUILD_PARAMETER_STATE:
      /* A Parameter is its data tensor for our purposes. */
      if (n < 1 || a[0]->type != SC_PICKLE_TENSOR)
        return vm_fail (vm, "a parameter is rebuilt from something that is not a tensor");
      return push (vm, a[0]);
    case G_INERT:
      return push (vm, vm_new (vm, SC_PICKLE_OPAQUE));
    default:
      return vm_fail (vm, "calls a storage class directly");
    }
}

/* BINPERSID: ('storage', storage class, key, location, numel[, view metadata]). */
static gboolean
persistent_load (Vm *vm, ScPickleValue *pid)
{
  ScPickleValue **a = pid->u.seq.items;
  if (pid->type != SC_PICKLE_TUPLE || pid->u.seq.n < 5 || pid->u.seq.n > 6 || !is_str (a[0])
      || strcmp (a[0]->u.str.data, "storage") != 0)
    return vm_fail (vm, "a persistent id is not a storage reference");
  if (a[1]->type != SC_PICKLE_GLOBAL || a[1]->u.global < G_STORAGE_BASE)
    return vm_fail (vm, "a storage reference names no storage class");
  int64_t numel;
  if (!is_str (a[2]) || !int_arg (a[4], &numel) || numel < 0)
    return vm_fail (vm, "a storage reference has a bad key or size");
  const char *key = a[2]->u.str.data;
  if (a[2]->u.str.len == 0 || a[2]->u.str.len > 64)
    return vm_fail (vm, "a storage key is empty or too long");
  for (const char *c = key; *c; c++) /* keys name files under data/: no path syntax */
    if (!g_ascii_isalnum (*c) && *c != '_')
      return vm_fail (vm, "a storage key contains “%c”", g_ascii_isprint (*c) ? *c : '?');
  ScDType dtype = (ScDType) (a[1]->u.global - G_STORAGE_BASE);
  if (numel > INT64_MAX / (int64_t) sc_dtype_size (dtype))
    return vm_fail (vm, "a storage claims %" G_GINT64_FORMAT " elements", numel);
  ScPickleValue *v = vm_new (vm, SC_PICKLE_STORAGE);
  if (!v)
    return FALSE;
  v->u.storage = g_new0 (ScPickleStorage, 1);
  v->u.storage->dtype = dtype;
  v->u.storage->key = g_strdup (key);
  v->u.storage->numel = numel;
  return push (vm, v);
}

static gboolean
memo_put (Vm *vm, guint64 index)
{
  ScPickleValue *v = top (vm);
  if (!v)
    return FALSE;
  if (index > G_MAXUINT32)
    return vm_fail (vm, "a memo index is out of range");
  if (g_hash_table_size (vm->memo) >= MAX_MEMO && !g_hash_table_contains (vm->memo, GUINT_TO_POINTER (index)))
    return vm_fail (vm, "the memo grows beyond %d entries", MAX_MEMO);
  g_hash_table_insert (vm->memo, GUINT_TO_POINTER ((guint) index), v);
  return TRUE;
}

static gboolean
memo_get (Vm *vm, guint64 index)
{
  ScPickleValue *v = index <= G_MAXUINT32 ? g_hash_table_lookup (vm->memo, GUINT_TO_POINTER ((guint) index)) : NULL;
  if (!v)
    return vm_fail (vm, "reads memo entry %" G_GUINT64_FORMAT ", which was never stored", index);
  return push (vm, v);
}

static gboolean
set_items (Vm *vm, ScPickleValue *dict, ScPickleValue **kv, size_t n)
{
  if (n % 2)
    return vm_fail (vm, "SETITEMS with an odd number of items");
  if (dict->type == SC_PICKLE_OPAQUE)
    return TRUE;
  if (dict->type != SC_PICKLE_DICT)
    return vm_fail (vm, "sets items on a %s", type_name (dict));
  for (size_t i = 0; i < n; i++)
    if (!seq_append (vm, dict, kv[i]))
      return FALSE;
  return TRUE;
}

static gboolean
append_items (Vm *vm, ScPickleValue *list, ScPickleValue **items, size_t n)
{
  if (list->type == SC_PICKLE_OPAQUE)
    return TRUE;
  if (list->type != SC_PICKLE_LIST)
    return vm_fail (vm, "appends to a %s", type_name (list));
  for (size_t i = 0; i < n; i++)
    if (!seq_append (vm, list, items[i]))
      return FALSE;
  return TRUE;
}

static gboolean
step (Vm *vm, gboolean *stop)
{
  vm->op_pos = vm->pos;
  const guint8 *opp = take (vm, 1);
  if (!opp)
    return FALSE;
  guint8 op = *opp;
  guint64 u;
  ScPickleValue *a, *b, *c, **items;
  size_t n;
  switch (op)
    {
    case 0x80: /* PROTO */
      if (!take_uint (vm, 1, &u))
        return FALSE;
      if (u < 2 || u > 5)
        {
          g_set_error (vm->error, SC_ERROR, SC_ERROR_UNSUPPORTED, "Pickle protocol %u is not supported (2 to 5 "
                       "are)", (unsigned) u);
          return FALSE;
        }
      return TRUE;
    case 0x95: /* FRAME: a length hint we do not need */
      return take_uint (vm, 8, &u);
    case '.': /* STOP */
      if (!(a = pop (vm)))
        return FALSE;
      vm->p->root = a;
      *stop = TRUE;
      return TRUE;
    case '(': /* MARK */
      if (vm->marks->len >= MAX_MARKS)
        return vm_fail (vm, "more than %d nested MARKs", MAX_MARKS);
      g_array_append_val (vm->marks, vm->stack->len);
      return TRUE;
    case '0': /* POP */
      if (vm->stack->len == floor_of (vm) && vm->marks->len)
        {
          g_array_set_size (vm->marks, vm->marks->len - 1); /* POP of a bare mark */
          return TRUE;
        }
      return pop (vm) != NULL;
    case '1': /* POP_MARK */
      return pop_mark (vm, &items, &n);
    case '2': /* DUP */
      return (a = top (vm)) && push (vm, a);
    case '}':
      return push (vm, vm_new (vm, SC_PICKLE_DICT));
    case ']':
      return push (vm, vm_new (vm, SC_PICKLE_LIST));
    case ')':
      return push (vm, vm_new (vm, SC_PICKLE_TUPLE));
    case 'N':
      return push (vm, vm_new (vm, SC_PICKLE_NONE));
    case 0x88: /* NEWTRUE */
    case 0x89: /* NEWFALSE */
      if (!(a = vm_new (vm, SC_PICKLE_BOOL)))
        return FALSE;
      a->u.b = op == 0x88;
      return push (vm, a);
    case 't': /* TUPLE */
      return pop_mark (vm, &items, &n) && push (vm, make_seq (vm, SC_PICKLE_TUPLE, items, n));
    case 0x85: /* TUPLE1..3 */
    case 0x86:
    case 0x87:
      {
        ScPickleValue *t[3];
        n = (size_t) (op - 0x84);
        for (size_t i = n; i-- > 0;)
          if (!(t[i] = pop (vm)))
            return FALSE;
        return push (vm, make_seq (vm, SC_PICKLE_TUPLE, t, n));
      }
    case 'l': /* LIST (protocol 1, but harmless) */
      return pop_mark (vm, &items, &n) && push (vm, make_seq (vm, SC_PICKLE_LIST, items, n));
    case 'd': /* DICT */
      if (!pop_mark (vm, &items, &n))
        return FALSE;
      if (n % 2)
        return vm_fail (vm, "DICT with an odd number of items");
      return push (vm, make_seq (vm, SC_PICKLE_DICT, items, n));
    case 's': /* SETITEM */
      if (!(c = pop (vm)) || !(b = pop (vm)) || !(a = top (vm)))
        return FALSE;
      {
        ScPickleValue *kv[2] = { b, c };
        return set_items (vm, a, kv, 2);
      }
    case 'u': /* SETITEMS */
      return pop_mark (vm, &items, &n) && (a = top (vm)) && set_items (vm, a, items, n);
    case 'a': /* APPEND */
      return (b = pop (vm)) && (a = top (vm)) && append_items (vm, a, &b, 1);
    case 'e': /* APPENDS */
      return pop_mark (vm, &items, &n) && (a = top (vm)) && append_items (vm, a, items, n);
    case 'J': /* BININT */
      return take_uint (vm, 4, &u) && push_int (vm, (int32_t) (guint32) u);
    case 'K': /* BININT1 */
      return take_uint (vm, 1, &u) && push_int (vm, (int64_t) u);
    case 'M': /* BININT2 */
      return take_uint (vm, 2, &u) && push_int (vm, (int64_t) u);
    case 0x8a: /* LONG1 */
      return push_long (vm, 1);
    case 0x8b: /* LONG4 */
      return push_long (vm, 4);
    case 'G': /* BINFLOAT: big-endian IEEE double */
      {
        const guint8 *p = take (vm, 8);
        if (!p || !(a = vm_new (vm, SC_PICKLE_FLOAT)))
          return FALSE;
        guint64 bits = 0;
        for (int i = 0; i < 8; i++)
          bits = (bits << 8) | p[i];
        memcpy (&a->u.f, &bits, 8);
        return push (vm, a);
      }
    case 'X': /* BINUNICODE */
      return push_string (vm, SC_PICKLE_STR, 4);
    case 0x8c: /* SHORT_BINUNICODE */
      return push_string (vm, SC_PICKLE_STR, 1);
    case 0x8d: /* BINUNICODE8 */
      return push_string (vm, SC_PICKLE_STR, 8);
    case 'T': /* BINSTRING */
      return push_string (vm, SC_PICKLE_STR, 4);
    case 'U': /* SHORT_BINSTRING */
      return push_string (vm, SC_PICKLE_STR, 1);
    case 'B': /* BINBYTES */
      return push_string (vm, SC_PICKLE_BYTES, 4);
    case 'C': /* SHORT_BINBYTES */
      return push_string (vm, SC_PICKLE_BYTES, 1);
    case 0x8e: /* BINBYTES8 */
      return push_string (vm, SC_PICKLE_BYTES, 8);
    case 'q': /* BINPUT */
      return take_uint (vm, 1, &u) && memo_put (vm, u);
    case 'r': /* LONG_BINPUT */
      return take_uint (vm, 4, &u) && memo_put (vm, u);
    case 0x94: /* MEMOIZE */
      return memo_put (vm, g_hash_table_size (vm->memo));
    case 'h': /* BINGET */
      return take_uint (vm, 1, &u) && memo_get (vm, u);
    case 'j': /* LONG_BINGET */
      return take_uint (vm, 4, &u) && memo_get (vm, u);
    case 'c': /* GLOBAL */
      return op_global (vm);
    case 0x93: /* STACK_GLOBAL */
      if (!(b = pop (vm)) || !(a = pop (vm)))
        return FALSE;
      if (!is_str (a) || !is_str (b))
        return vm_fail (vm, "STACK_GLOBAL of a %s and a %s", type_name (a), type_name (b));
      return resolve_global (vm, a->u.str.data, b->u.str.data);
    case 'R': /* REDUCE */
    case 0x81: /* NEWOBJ: cls.__new__(cls, *args), the same to us */
      return (b = pop (vm)) && (a = pop (vm)) && call (vm, a, b);
    case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
      if (!(c = pop (vm)) || !(b = pop (vm)) || !(a = pop (vm)))
        return FALSE;
      if (c->type != SC_PICKLE_DICT || c->u.seq.n)
        return vm_fail (vm, "NEWOBJ_EX with keyword arguments");
      return call (vm, a, b);
    case 'b': /* BUILD: object state (attributes such as a state dict's _metadata); dropped */
      if (!(b = pop (vm)) || !(a = top (vm)))
        return FALSE;
      if (a->type != SC_PICKLE_DICT && a->type != SC_PICKLE_OPAQUE && a->type != SC_PICKLE_TENSOR)
        return vm_fail (vm, "sets the state of a %s", type_name (a));
      return TRUE;
    case 'Q': /* BINPERSID */
      return (a = pop (vm)) && persistent_load (vm, a);
    default:
      g_set_error (vm->error, SC_ERROR, SC_ERROR_UNSUPPORTED,
                   "Pickle opcode 0x%02x at byte %zu is not supported (only state dicts saved by torch.save are "
                   "read)", op, vm->op_pos);
      return FALSE;
    }
}

ScPickle *
sc_pickle_load (const void *data, size_t len, GError **error)
{
  ScPickle *p = g_new0 (ScPickle, 1);
  p->arena = g_ptr_array_new_with_free_func (value_free);
  Vm vm = { .p = p, .data = data, .len = len, .error = error };
  vm.stack = g_ptr_array_new ();
  vm.marks = g_array_new (FALSE, FALSE, sizeof (guint));
  vm.memo = g_hash_table_new (g_direct_hash, g_direct_equal);
  gboolean stop = FALSE, ok = TRUE;
  while (ok && !stop)
    ok = step (&vm, &stop);
  g_ptr_array_unref (vm.stack);
  g_array_unref (vm.marks);
  g_hash_table_destroy (vm.memo);
  if (!ok)
    {
      sc_pickle_free (p);
      return NULL;
    }
  return p;
}
