/* Packed function references (see fnref.h). Layout, little-endian:
 * u8 is_main | u8 id_len | u16 module_len | u32 zero | u64 offset | id | module
 * (the module's path without its NUL). */
#include <stdlib.h>
#include <string.h>

#include "args/fnref.h"

enum { HEAD = 16 };

void mproc__fnref_clear(mproc__fnref_t *ref) {
  free(ref->module);
  ref->module = NULL;
}

int mproc__fnref_pack_fn(mproc__fn_t fn, unsigned char *buf, size_t cap, size_t *len) {
  *len = 0;
  mproc__fnref_t ref;
  int rc = mproc__os_fnref_make(fn, &ref);
  if (rc) {
    mproc__fnref_clear(&ref);
    return rc;
  }
  size_t module_len = strlen(ref.module);
  size_t need = HEAD + ref.id_len + module_len;
  if (module_len > MPROC__FNREF_PATH_MAX || ref.id_len > sizeof ref.id || need > cap) {
    mproc__fnref_clear(&ref);
    return mproc__fail(MPROC_ERANGE, "function reference: a module path of %zu bytes (at most %d)",
                       module_len, MPROC__FNREF_PATH_MAX);
  }
  memset(buf, 0, HEAD);
  buf[0] = ref.is_main;
  buf[1] = (unsigned char)ref.id_len;
  buf[2] = (unsigned char)module_len;
  buf[3] = (unsigned char)(module_len >> 8);
  mproc__put_u64(buf + 8, ref.offset);
  memcpy(buf + HEAD, ref.id, ref.id_len);
  memcpy(buf + HEAD + ref.id_len, ref.module, module_len);
  *len = need;
  mproc__fnref_clear(&ref);
  return 0;
}

int mproc__fnref_unpack_resolve(const unsigned char *buf, size_t len, mproc__fn_t *fn) {
  mproc__fnref_t ref;
  memset(&ref, 0, sizeof ref);
  size_t id_len = len >= HEAD ? buf[1] : 0;
  size_t module_len = len >= HEAD ? (size_t)buf[2] | (size_t)buf[3] << 8 : 0;
  if (len < HEAD || buf[0] > 1 || id_len > sizeof ref.id || len != HEAD + id_len + module_len)
    return mproc__fail(MPROC_EPROTO, "function reference: %zu bytes that are not one", len);
  ref.is_main = buf[0];
  ref.id_len = id_len;
  ref.offset = mproc__get_u64(buf + 8);
  memcpy(ref.id, buf + HEAD, id_len);
  ref.module = malloc(module_len + 1);
  if (!ref.module)
    return mproc__fail(MPROC_ENOMEM, "function reference: out of memory");
  memcpy(ref.module, buf + HEAD + id_len, module_len);
  ref.module[module_len] = '\0';
  int rc = mproc__os_fnref_resolve(&ref, fn);
  mproc__fnref_clear(&ref);
  return rc;
}
