/* What the files of args/ share: the tuple and its items (args.c builds
 * and reads them, args_encode.c and args_decode.c turn them into
 * MessagePack and back). */
#ifndef MPROC_ARGS_ARGS_TUPLE_H
#define MPROC_ARGS_ARGS_TUPLE_H

#include <stdatomic.h>

#include "args/args_objects.h"
#include "core/internal.h"

typedef struct {
  mproc_type_t type;
  union {
    bool b;
    int64_t i;
    double d;
    struct {
      char *p;
      size_t n;
    } s; /* MPROC_T_STR and MPROC_T_BYTES */
    mproc_args_t *t;
    struct {
      void *p; /* the tuple's own hold: a duplicate (conn) or a reference */
      const mproc__object_class_t *cls;
    } obj; /* MPROC_T_CONN and later types */
  } v;
} item_t;

/* Small tuples - a map item, most results - keep their items inside the
 * tuple itself: one allocation, not two. */
enum { INLINE_ITEMS = 2 };

struct mproc_args {
  item_t *items; /* inline_items, or a separate allocation once it grows */
  size_t count;
  size_t cap;
  int depth; /* 1 + the deepest nested tuple */
  /* 0: the tuple is an allocation of its own. Else it is tuple
   * in_block - 1 of a block (below), which it finds from that. */
  uint32_t in_block;
  item_t inline_items[INLINE_ITEMS];
};

/* Tuples made in one allocation: the results of a map's chunk, decoded by
 * the pool's thread (mproc__args_decode_spread). One malloc for the chunk
 * instead of one per result, written in order, and no free list to walk;
 * each tuple is still freed on its own (mproc_args_free), and the block
 * goes with the last of them. At most UINT32_MAX - 2 tuples. */
typedef struct {
  _Atomic size_t live; /* tuples not freed yet, and slots not yet used */
  mproc_args_t tuples[];
} mproc__args_block_t;

/* The one empty tuple every empty map result shares (args.c). */
mproc_args_t *mproc__args_shared_empty(void);
/* A block of room for n tuples (NULL without memory, or for n too many). */
mproc__args_block_t *mproc__args_block_new(size_t n);
/* Tuple i of the block, made empty: the caller's to fill and own. */
mproc_args_t *mproc__args_block_tuple(mproc__args_block_t *b, size_t i);
/* Gives back n slots that will never be used (the block may go). */
void mproc__args_block_unused(mproc__args_block_t *b, size_t n);

/* MessagePack's 32-bit length fields bound every count and size. */
#define WIRE_MAX ((size_t)UINT32_MAX)

/* An IPC object on the wire: ext type MPROC__EXT_OBJECT, 7 bytes: kind (its
 * item type), flags, u32 index of its first handle in the handle table that
 * travels beside the bytes, u8 count of its handles; then the class's info
 * bytes (up to MPROC__OBJECT_INFO_MAX). */
enum { OBJECT_HEAD = 7 };

/* The class of IPC object of item type kind; NULL for none. */
const mproc__object_class_t *mproc__args_class_of(unsigned kind);
/* Whether it is an IPC object or a tuple that holds one, at any depth. */
bool mproc__item_holds_object(const item_t *it);
/* args.c: frees what item it owns; appends item it (taken over) to a, or
 * tuple t (taken over), or a copy of n bytes of p as a string or bytes
 * item; op names the caller in errors. */
void mproc__item_clear(item_t *it);
int mproc__args_push(mproc_args_t *a, const item_t *it, const char *op);
int mproc__args_push_tuple(mproc_args_t *a, mproc_args_t *t, const char *op);
int mproc__args_add_blob(mproc_args_t *a, mproc_type_t type, const void *p, size_t n,
                         const char *op);
/* The name of type t in messages ("int", "Lock"...). */
const char *mproc__args_type_name(mproc_type_t t);
/* A public item as a tuple's item, borrowing what it points to. */
int mproc__item_borrow(const mproc_item_t *in, item_t *out, const char *op);
/* args_encode.c: msgpack-c's write callback into an mproc__buf_t. */
int mproc__args_buf_write(void *data, const char *p, size_t n);

#endif
