/* Function identity across exec for Mach-O (macOS), as fnref.c is for ELF:
 * a target is sent as (module, build identity, offset from the module's
 * Mach-O header), and the child finds the module among its own dyld
 * images, checks it is the same build (its LC_UUID), and adds the address
 * of its own header: ASLR slides images, not the code inside them.
 *
 * Written against Apple's documented interfaces (<mach-o/dyld.h>,
 * <mach-o/loader.h>, dladdr); compiled and linked by the macOS leg of
 * scripts/test.sh (zig cc), run only by the macOS job of
 * .github/workflows/ci.yml. CMake defines _DARWIN_C_SOURCE. */
#include <crt_externs.h>
#include <dlfcn.h>
#include <mach-o/dyld.h>
#include <mach-o/loader.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

typedef struct mach_header_64 header_t;
typedef struct segment_command_64 segment_t;

/* Each load command of an image in turn: *lc starts NULL. */
static bool next_command(const header_t *h, const struct load_command **lc, uint32_t *i) {
  if (!*lc) {
    *lc = (const struct load_command *)(h + 1);
    *i = 0;
  } else {
    *lc = (const struct load_command *)((const char *)*lc + (*lc)->cmdsize);
    ++*i;
  }
  return *i < h->ncmds;
}

/* The image's LC_UUID if it has one (the linker writes one by default);
 * otherwise a fingerprint of its segments, which still tells different
 * builds apart in practice. */
static size_t module_identity(const header_t *h, unsigned char *id, size_t cap) {
  const struct load_command *lc = NULL;
  uint32_t i;
  while (next_command(h, &lc, &i))
    if (lc->cmd == LC_UUID && cap >= sizeof((struct uuid_command *)0)->uuid) {
      const struct uuid_command *u = (const struct uuid_command *)lc;
      memcpy(id, u->uuid, sizeof u->uuid);
      return sizeof u->uuid;
    }
  uint64_t hash = 1469598103934665603ull; /* FNV-1a over (vmaddr, vmsize, initprot) */
  for (lc = NULL; next_command(h, &lc, &i);) {
    if (lc->cmd != LC_SEGMENT_64)
      continue;
    const segment_t *seg = (const segment_t *)lc;
    uint64_t words[3] = {seg->vmaddr, seg->vmsize, (uint64_t)seg->initprot};
    const unsigned char *b = (const unsigned char *)words;
    for (size_t k = 0; k < sizeof words; k++)
      hash = (hash ^ b[k]) * 1099511628211ull;
  }
  memcpy(id, &hash, sizeof hash);
  return sizeof hash;
}

/* Whether header + offset lies in an executable segment. Segment addresses
 * are as linked; the header is where the segment mapping file offset 0
 * (__TEXT) was put, so a segment starts vmaddr - __TEXT's vmaddr past it. */
static bool in_code(const header_t *h, uint64_t offset) {
  const struct load_command *lc = NULL;
  uint32_t i;
  uint64_t text = 0;
  bool have_text = false;
  while (next_command(h, &lc, &i)) {
    const segment_t *seg = (const segment_t *)lc;
    if (lc->cmd == LC_SEGMENT_64 && seg->fileoff == 0 && seg->filesize != 0) {
      text = seg->vmaddr;
      have_text = true;
    }
  }
  if (!have_text)
    return false;
  for (lc = NULL; next_command(h, &lc, &i);) {
    const segment_t *seg = (const segment_t *)lc;
    if (lc->cmd != LC_SEGMENT_64 || !(seg->initprot & VM_PROT_EXECUTE) || seg->vmaddr < text)
      continue;
    uint64_t lo = seg->vmaddr - text;
    if (offset >= lo && offset - lo < seg->vmsize)
      return true;
  }
  return false;
}

static const header_t *main_header(void) { return (const header_t *)_NSGetMachExecuteHeader(); }

int mproc__os_fnref_make(mproc__fn_t fn, mproc__fnref_t *ref) {
  memset(ref, 0, sizeof *ref);
  Dl_info info;
  uintptr_t addr = (uintptr_t)fn;
  const header_t *h = dladdr((const void *)addr, &info) ? info.dli_fbase : NULL;
  if (!h || h->magic != MH_MAGIC_64 || addr < (uintptr_t)h || !in_code(h, addr - (uintptr_t)h))
    return mproc__fail(MPROC_EINVAL, "target 0x%llx is not code of any loaded module",
                       (unsigned long long)addr);
  ref->is_main = h == main_header();
  const char *name = ref->is_main || !info.dli_fname ? "" : info.dli_fname;
  size_t n = strlen(name) + 1;
  if (!(ref->module = malloc(n)))
    return mproc__fail(MPROC_ENOMEM, "target: out of memory");
  memcpy(ref->module, name, n);
  ref->offset = addr - (uintptr_t)h;
  ref->id_len = module_identity(h, ref->id, sizeof ref->id);
  return 0;
}

/* This process's image of the module ref names, or NULL. */
static const header_t *find_module(const mproc__fnref_t *ref) {
  if (ref->is_main)
    return main_header();
  for (uint32_t i = 0, n = _dyld_image_count(); i < n; i++) {
    const char *name = _dyld_get_image_name(i);
    if (name && strcmp(name, ref->module) == 0)
      return (const header_t *)_dyld_get_image_header(i);
  }
  return NULL;
}

int mproc__os_fnref_resolve(const mproc__fnref_t *ref, mproc__fn_t *fn) {
  const char *what = ref->is_main ? "the main executable" : ref->module;
  const header_t *h = find_module(ref);
  if (!h || h->magic != MH_MAGIC_64)
    return mproc__fail(MPROC_EPROTO, "target module %s is not loaded in the child", what);
  unsigned char id[sizeof ref->id];
  size_t id_len = module_identity(h, id, sizeof id);
  if (id_len != ref->id_len || memcmp(id, ref->id, id_len) != 0)
    return mproc__fail(
        MPROC_EPROTO, "target module %s is another build in this process (build ids differ)", what);
  if (!in_code(h, ref->offset))
    return mproc__fail(MPROC_EPROTO, "target offset 0x%llx is outside the code of %s",
                       (unsigned long long)ref->offset, what);
  *fn = (mproc__fn_t)((uintptr_t)h + (uintptr_t)ref->offset);
  return 0;
}
