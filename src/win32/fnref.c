/* Function identity across CreateProcess for PE modules (see
 * ARCHITECTURE.md): a target is (module path, build identity, offset from
 * the module's base). The child finds the same module already loaded in
 * itself, checks it is the same build, and adds its own base. */
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "core/internal.h"
#include "wide.h"

static const IMAGE_NT_HEADERS *nt_headers(HMODULE mod) {
  const unsigned char *base = (const unsigned char *)mod;
  const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)base;
  return (const IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
}

/* The link timestamp, image size, checksum and code size tell builds apart;
 * the linker writes them into every PE image. */
static size_t module_identity(HMODULE mod, unsigned char *id) {
  const IMAGE_NT_HEADERS *nt = nt_headers(mod);
  uint32_t fields[5] = {nt->FileHeader.TimeDateStamp, nt->OptionalHeader.SizeOfImage,
                        nt->OptionalHeader.CheckSum, nt->OptionalHeader.SizeOfCode,
                        nt->OptionalHeader.AddressOfEntryPoint};
  memcpy(id, fields, sizeof fields);
  return sizeof fields;
}

/* Whether base + offset lies in an executable section of the module. */
static bool in_code(HMODULE mod, uint64_t offset) {
  const IMAGE_NT_HEADERS *nt = nt_headers(mod);
  const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);
  for (WORD i = 0; i < nt->FileHeader.NumberOfSections; i++) {
    if ((sec[i].Characteristics & IMAGE_SCN_MEM_EXECUTE) && offset >= sec[i].VirtualAddress &&
        offset - sec[i].VirtualAddress < sec[i].Misc.VirtualSize)
      return true;
  }
  return false;
}

int mproc__os_fnref_make(mproc__fn_t fn, mproc__fnref_t *ref) {
  memset(ref, 0, sizeof *ref);
  HMODULE mod;
  if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                              GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                          (LPCWSTR)(void *)(uintptr_t)fn, &mod))
    return mproc__fail(MPROC_EINVAL, "target 0x%llx is not code of any loaded module",
                       (unsigned long long)(uintptr_t)fn);
  ref->offset = (uint64_t)((uintptr_t)fn - (uintptr_t)mod);
  if (!in_code(mod, ref->offset))
    return mproc__fail(MPROC_EINVAL, "target is not code of any loaded module");
  ref->is_main = mod == GetModuleHandleW(NULL);
  if (ref->is_main) {
    ref->module = calloc(1, 1);
  } else {
    wchar_t path[MAX_PATH * 4];
    DWORD n = GetModuleFileNameW(mod, path, sizeof path / sizeof path[0]);
    if (n == 0 || n == sizeof path / sizeof path[0])
      return mproc__os_fail("target: GetModuleFileNameW");
    ref->module = mproc__utf8_from_wide(path);
  }
  if (!ref->module)
    return mproc__fail(MPROC_ENOMEM, "target: out of memory");
  ref->id_len = module_identity(mod, ref->id);
  return 0;
}

int mproc__os_fnref_resolve(const mproc__fnref_t *ref, mproc__fn_t *fn) {
  HMODULE mod = NULL;
  if (ref->is_main) {
    mod = GetModuleHandleW(NULL);
  } else {
    wchar_t *w = mproc__wide_from_utf8(ref->module);
    if (w)
      mod = GetModuleHandleW(w); /* loaded already, or not at all: never load */
    free(w);
  }
  const char *what = ref->is_main ? "the main executable" : ref->module;
  if (!mod)
    return mproc__fail(MPROC_EPROTO, "target module %s is not loaded in the child", what);
  unsigned char id[sizeof ref->id];
  size_t id_len = module_identity(mod, id);
  if (id_len != ref->id_len || memcmp(id, ref->id, id_len) != 0)
    return mproc__fail(
        MPROC_EPROTO, "target module %s is another build in this process (build ids differ)", what);
  if (!in_code(mod, ref->offset))
    return mproc__fail(MPROC_EPROTO, "target offset 0x%llx is outside the code of %s",
                       (unsigned long long)ref->offset, what);
  *fn = (mproc__fn_t)((uintptr_t)mod + (uintptr_t)ref->offset);
  return 0;
}
