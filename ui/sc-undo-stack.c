#define G_LOG_DOMAIN "scedit-undo"

#include "sc-undo-stack.h"

typedef struct {
  char *key;
  gpointer before, after;
  gint64 time;   /* of the last push merged into this step */
  gboolean sealed;
} Step;

struct _ScUndoStack {
  ScUndoApplyFunc apply;
  GDestroyNotify free_state;
  gpointer user;
  GPtrArray *steps; /* Step; [0, done) are done, [done, len) can be redone */
  guint done;
  gboolean applying;
};

static void
free_state (ScUndoStack *self, gpointer state)
{
  if (state && self->free_state)
    self->free_state (state);
}

static void
step_free (ScUndoStack *self, Step *s)
{
  free_state (self, s->before);
  free_state (self, s->after);
  g_free (s->key);
  g_free (s);
}

ScUndoStack *
sc_undo_stack_new (ScUndoApplyFunc apply, GDestroyNotify free_state_func, gpointer user)
{
  g_return_val_if_fail (apply, NULL);
  ScUndoStack *self = g_new0 (ScUndoStack, 1);
  self->apply = apply;
  self->free_state = free_state_func;
  self->user = user;
  self->steps = g_ptr_array_new ();
  return self;
}

static void
truncate_to (ScUndoStack *self, guint len)
{
  while (self->steps->len > len)
    step_free (self, g_ptr_array_steal_index (self->steps, self->steps->len - 1));
}

void
sc_undo_stack_clear (ScUndoStack *self)
{
  truncate_to (self, 0);
  self->done = 0;
}

void
sc_undo_stack_free (ScUndoStack *self)
{
  if (!self)
    return;
  sc_undo_stack_clear (self);
  g_ptr_array_unref (self->steps);
  g_free (self);
}

void
sc_undo_stack_push (ScUndoStack *self, const char *key, gpointer before, gpointer after)
{
  g_return_if_fail (self && !self->applying);
  truncate_to (self, self->done);
  gint64 now = g_get_monotonic_time ();
  Step *top = self->done ? g_ptr_array_index (self->steps, self->done - 1) : NULL;
  if (key && top && !top->sealed && g_strcmp0 (top->key, key) == 0 && now - top->time < SC_UNDO_COALESCE_US)
    {
      /* the drag goes on: keep the first before, take the newest after */
      free_state (self, before);
      free_state (self, top->after);
      top->after = after;
      top->time = now;
      return;
    }
  if (top)
    top->sealed = TRUE;
  Step *s = g_new0 (Step, 1);
  s->key = g_strdup (key);
  s->before = before;
  s->after = after;
  s->time = now;
  g_ptr_array_add (self->steps, s);
  self->done = self->steps->len;
}

void
sc_undo_stack_seal (ScUndoStack *self)
{
  g_return_if_fail (self);
  if (self->done)
    ((Step *) g_ptr_array_index (self->steps, self->done - 1))->sealed = TRUE;
}

static void
apply (ScUndoStack *self, gpointer state)
{
  self->applying = TRUE;
  self->apply (state, self->user);
  self->applying = FALSE;
}

gboolean
sc_undo_stack_undo (ScUndoStack *self)
{
  g_return_val_if_fail (self && !self->applying, FALSE);
  if (!self->done)
    return FALSE;
  Step *s = g_ptr_array_index (self->steps, --self->done);
  s->sealed = TRUE;
  apply (self, s->before);
  return TRUE;
}

gboolean
sc_undo_stack_redo (ScUndoStack *self)
{
  g_return_val_if_fail (self && !self->applying, FALSE);
  if (self->done == self->steps->len)
    return FALSE;
  apply (self, ((Step *) g_ptr_array_index (self->steps, self->done++))->after);
  return TRUE;
}

gboolean
sc_undo_stack_can_undo (ScUndoStack *self)
{
  return self && self->done > 0;
}

gboolean
sc_undo_stack_can_redo (ScUndoStack *self)
{
  return self && self->done < self->steps->len;
}

gboolean
sc_undo_stack_is_applying (ScUndoStack *self)
{
  return self && self->applying;
}

guint
sc_undo_stack_get_n_steps (ScUndoStack *self)
{
  return self ? self->steps->len : 0;
}
