/* What crosses between a manager's clients and its server (manager_*.c).
 *
 * Every message is one connection message (length-prefixed already).
 * After the listener's HMAC handshake the client says hello:
 *   u32 MAGIC | u16 VERSION | u16 flags | u64 session | u64 pid
 * and the server answers
 *   u32 MAGIC | u16 VERSION | u16 flags | u64 nonce | u64 pid | u64 max_message
 * The flag LANE in the hello asks for a shared-memory lane
 * (manager_lane.h); in the answer it says the lane's handle follows, as
 * the connection's next message. Calls then go through the lane.
 * (the session names the client process: its references and its locks;
 * the nonce names this run of the server, so a proxy to an earlier
 * manager at the same address is told apart).
 *
 * A request, little-endian:
 *   u32 seq | u16 op | u16 flags | u64 object id | u32 thread | body
 * and its reply (none for NOREPLY):
 *   u32 seq | i32 status | body — the result, or the error's detail text.
 * Bodies are fixed-size integers and blobs (u32 length | bytes); an item
 * is a blob holding its MessagePack encoding, canonical because one
 * encoder makes them all, so equal items are equal bytes. A result that
 * is a tuple is sent encoded, ready for mproc_args_decode.
 *
 * BATCH's body: u32 count, then count blobs each holding a request (its
 * seq ignored); its reply body: u32 count, then count blobs each holding
 * a reply. */
#ifndef MPROC_MANAGER_MANAGER_WIRE_H
#define MPROC_MANAGER_MANAGER_WIRE_H

#include "core/internal.h"

enum { MPROC__MGR_MAGIC = 0x4d52474du /* "MGRM" */, MPROC__MGR_VERSION = 1 };
enum {
  MPROC__MGR_HELLO = 24,
  MPROC__MGR_WELCOME = 32,
  MPROC__MGR_REQ_HEAD = 20,
  MPROC__MGR_REP_HEAD = 8
};

/* Hello and welcome flags. */
enum { MPROC__MGR_LANE = 1 };

/* The hello (client to server) and the welcome (server to client), one
 * codec for both sides. id: the client's session in a hello, the server's
 * nonce in a welcome; max_message: in a welcome only. */
typedef struct {
  uint16_t version;
  uint16_t flags;
  uint64_t id;
  int64_t pid;
  uint64_t max_message;
} mproc__mgr_greeting_t;
/* Encodes g into out, MPROC__MGR_WELCOME bytes (welcome) or
 * MPROC__MGR_HELLO; returns how many. */
size_t mproc__mgr_greeting_put(unsigned char *out, const mproc__mgr_greeting_t *g, bool welcome);
/* Decodes a greeting of len bytes: false when it is none (its length or
 * its magic is wrong); the caller judges the version. */
bool mproc__mgr_greeting_get(const unsigned char *msg, size_t len, bool welcome,
                             mproc__mgr_greeting_t *g);

/* Request flags. */
enum {
  MPROC__MGR_NOREPLY = 1,   /* fire and forget (DECREF) */
  MPROC__MGR_HAS_PROXY = 2, /* an item in the body names proxies */
  MPROC__MGR_NOWAIT = 4     /* inside a batch: never block */
};

typedef enum {
  /* the manager itself (object id 0, or the object concerned) */
  MPROC__OP_CREATE = 1, /* u8 kind, kind's parameters → u64 id */
  MPROC__OP_DECREF,     /* this session forgets the object (NOREPLY) */
  MPROC__OP_PUBLISH,    /* blob name */
  MPROC__OP_LOOKUP,     /* blob name → u64 id | u8 kind */
  MPROC__OP_SHUTDOWN,
  MPROC__OP_BATCH,
  /* dict and namespace */
  MPROC__OP_DICT_SET = 16, /* key, value */
  MPROC__OP_DICT_GET,      /* key → (value) */
  MPROC__OP_DICT_GET_DEFAULT,
  MPROC__OP_DICT_DEL,
  MPROC__OP_DICT_CONTAINS, /* key → u8 */
  MPROC__OP_DICT_LEN,      /* → u64 */
  MPROC__OP_DICT_KEYS,     /* → tuple */
  MPROC__OP_DICT_VALUES,
  MPROC__OP_DICT_ITEMS,
  MPROC__OP_DICT_CLEAR,
  MPROC__OP_DICT_UPDATE, /* u32 n, n × (key, value) */
  MPROC__OP_DICT_POP,
  MPROC__OP_DICT_POP_DEFAULT,
  MPROC__OP_DICT_SETDEFAULT,
  MPROC__OP_DICT_INCR,    /* key, i64 delta → i64 */
  MPROC__OP_DICT_CAS,     /* key, expected, desired → u8 */
  MPROC__OP_DICT_POPITEM, /* → (key, value), the last inserted */
  /* list */
  MPROC__OP_LIST_APPEND = 40,
  MPROC__OP_LIST_EXTEND, /* u32 n, n items */
  MPROC__OP_LIST_GET,    /* i64 index */
  MPROC__OP_LIST_SET,
  MPROC__OP_LIST_INSERT,
  MPROC__OP_LIST_POP,
  MPROC__OP_LIST_REMOVE,
  MPROC__OP_LIST_INDEX, /* → u64 */
  MPROC__OP_LIST_COUNT,
  MPROC__OP_LIST_LEN,
  MPROC__OP_LIST_SLICE, /* i64 start, i64 stop */
  MPROC__OP_LIST_SORT,  /* u8 reverse */
  MPROC__OP_LIST_CLEAR,
  MPROC__OP_LIST_REVERSE,
  /* Value */
  MPROC__OP_VALUE_GET = 60,
  MPROC__OP_VALUE_SET,
  /* synchronization */
  MPROC__OP_ACQUIRE = 70, /* i32 timeout */
  MPROC__OP_RELEASE,
  MPROC__OP_WAIT,   /* i32 timeout → (barrier) i64 index */
  MPROC__OP_NOTIFY, /* i64 n (-1: all) */
  MPROC__OP_EVENT_SET,
  MPROC__OP_EVENT_CLEAR,
  MPROC__OP_EVENT_IS_SET, /* → u8 */
  MPROC__OP_BARRIER_ABORT,
  MPROC__OP_BARRIER_RESET,
  MPROC__OP_BARRIER_STATE, /* → i64 parties | i64 waiting | u8 broken */
  MPROC__OP_LOCKED,        /* → u8 */
  /* queues */
  MPROC__OP_QUEUE_PUT = 90, /* item, i32 timeout */
  MPROC__OP_QUEUE_GET,      /* i32 timeout → (value) */
  MPROC__OP_QUEUE_SIZE,     /* → u64 */
  MPROC__OP_QUEUE_TASK_DONE,
  MPROC__OP_QUEUE_JOIN,  /* i32 timeout */
  MPROC__OP_QUEUE_EMPTY, /* → u8 */
  MPROC__OP_QUEUE_FULL,  /* → u8 */
  /* registered types */
  MPROC__OP_CALL = 100, /* blob method, blob args tuple → tuple */
  MPROC__OP_CALL_OBJECT /* blob method, blob args tuple → u64 id | u8 kind: the object the
                           method returned (mproc_method_return_object) */
} mproc__mgr_op_t;

/* Reading a body: every get fails (MPROC_EPROTO) past the end. */
typedef struct {
  const unsigned char *p;
  size_t left;
} mproc__mgr_reader_t;

int mproc__mgr_get_u8(mproc__mgr_reader_t *r, uint8_t *v);
int mproc__mgr_get_u32(mproc__mgr_reader_t *r, uint32_t *v);
int mproc__mgr_get_u64(mproc__mgr_reader_t *r, uint64_t *v);
int mproc__mgr_get_i32(mproc__mgr_reader_t *r, int32_t *v);
int mproc__mgr_get_i64(mproc__mgr_reader_t *r, int64_t *v);
/* A blob, borrowed from the body. */
int mproc__mgr_get_blob(mproc__mgr_reader_t *r, const unsigned char **p, size_t *n);
/* A blob that must hold exactly one valid MessagePack item. */
int mproc__mgr_get_item(mproc__mgr_reader_t *r, const unsigned char **p, size_t *n);
/* MPROC_EPROTO when bytes are left over. */
int mproc__mgr_get_end(const mproc__mgr_reader_t *r);

/* Writing a body: each fails only for memory, leaving b as it was. */
int mproc__mgr_put_u8(mproc__buf_t *b, uint8_t v);
int mproc__mgr_put_u32(mproc__buf_t *b, uint32_t v);
int mproc__mgr_put_u64(mproc__buf_t *b, uint64_t v);
int mproc__mgr_put_blob(mproc__buf_t *b, const void *p, size_t n);
/* A blob holding one item's encoding; *has_proxy |= whether it names one. */
int mproc__mgr_put_item(mproc__buf_t *b, const mproc_item_t *it, bool *has_proxy);
/* Reserves a u32 length in b; mproc__mgr_end_blob fills it in. */
int mproc__mgr_begin_blob(mproc__buf_t *b, size_t *at);
void mproc__mgr_end_blob(mproc__buf_t *b, size_t at);

/* The request header. */
typedef struct {
  uint32_t seq;
  uint16_t op;
  uint16_t flags;
  uint64_t id;
  uint32_t thread;
} mproc__mgr_head_t;

void mproc__mgr_put_head(unsigned char *p, const mproc__mgr_head_t *h);
void mproc__mgr_get_head(const unsigned char *p, mproc__mgr_head_t *h);

/* A proxy's description inside an encoded item (the proxy's object info):
 * u64 nonce | u64 id | u8 kind | u16 address length | address
 * [| u16 key length | key — only toward the encoder's own children]. */
typedef struct {
  uint64_t nonce;
  uint64_t id;
  uint8_t kind;
} mproc__mgr_ref_t;

/* Spins up to us microseconds for a message to arrive on c: true when one
 * has. A call's answer, or a client's next call, usually comes within a
 * few microseconds, while a blocked thread takes tens of microseconds to
 * wake on a virtual machine: a short spin keeps a busy client's calls at
 * the speed of the data, and an idle one costs nothing after it. */
bool mproc__mgr_spin_readable(mproc_conn_t *c, int us);
/* How long either side spins for the other's next message (the client
 * for an answer, the server for a call, the lane for its word). */
enum { MPROC__MGR_SPIN_US = 50 };
/* Receives one message into *buf, grown as needed up to max bytes, within
 * timeout_ms: MPROC_ETOOBIG (the message skipped, *len its size) above max,
 * else as mproc_conn_recv_bytes_into. */
int mproc__mgr_recv(mproc_conn_t *c, unsigned char **buf, size_t *cap, size_t *len, size_t max,
                    int timeout_ms);

/* Calls fn for every proxy named inside one encoded item (an object
 * extension of type MPROC_T_PROXY), at any depth. The item was checked. */
int mproc__mgr_each_proxy(const unsigned char *item, size_t n,
                          int (*fn)(void *ctx, const mproc__mgr_ref_t *ref), void *ctx);

#endif
