/* ScUndoStack: one linear history of edits. Each step holds two states, before and after, that the owner
 * knows how to apply; the stack only orders them. Steps with the same key pushed in quick succession (a
 * slider being dragged) coalesce into one. GTK-free. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Steps with one key closer together than this coalesce (microseconds). */
#define SC_UNDO_COALESCE_US (600 * G_TIME_SPAN_MILLISECOND)

typedef struct _ScUndoStack ScUndoStack;
typedef void (*ScUndoApplyFunc) (gpointer state, gpointer user);

ScUndoStack *sc_undo_stack_new (ScUndoApplyFunc apply, GDestroyNotify free_state, gpointer user);
void sc_undo_stack_free (ScUndoStack *self);
/* Records an edit that has already happened; drops the redo side. key NULL never coalesces. The stack
 * owns both states. */
void sc_undo_stack_push (ScUndoStack *self, const char *key, gpointer before, gpointer after);
/* Ends coalescing: the next push starts a new step even with the same key. */
void sc_undo_stack_seal (ScUndoStack *self);
/* Apply the top step's before (undo) or the next step's after (redo). FALSE when there is none. */
gboolean sc_undo_stack_undo (ScUndoStack *self);
gboolean sc_undo_stack_redo (ScUndoStack *self);
gboolean sc_undo_stack_can_undo (ScUndoStack *self);
gboolean sc_undo_stack_can_redo (ScUndoStack *self);
/* Whether the stack is applying a state now: owners use it to avoid recording their own undo. */
gboolean sc_undo_stack_is_applying (ScUndoStack *self);
guint sc_undo_stack_get_n_steps (ScUndoStack *self);
void sc_undo_stack_clear (ScUndoStack *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScUndoStack, sc_undo_stack_free)

G_END_DECLS
