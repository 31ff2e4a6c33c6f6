/* Function identity across exec for ELF systems (see ARCHITECTURE.md).
 *
 * A target is sent as (module, build identity, offset from the module's load
 * base). The child looks the module up among its own loaded objects, checks
 * it is the same build, and adds its own base: ASLR moves modules, not the
 * code inside them. Modules and their segments come from dl_iterate_phdr. */
#define _GNU_SOURCE
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define NOTE_ALIGN(x) (((x) + 3u) & ~(size_t)3u)

/* The GNU build-id note if the module has one; otherwise a fingerprint of
 * its loadable segments, which still tells different builds apart in
 * practice (any code change moves sizes). */
static size_t module_identity(const struct dl_phdr_info *info, unsigned char *id, size_t cap) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    size_t left = ph->p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
      size_t size = sizeof *nh + NOTE_ALIGN(nh->n_namesz) + NOTE_ALIGN(nh->n_descsz);
      if (size > left)
        break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
          memcmp(p + sizeof *nh, "GNU", 4) == 0 && nh->n_descsz <= cap) {
        memcpy(id, p + sizeof *nh + NOTE_ALIGN(nh->n_namesz), nh->n_descsz);
        return nh->n_descsz;
      }
      p += size;
      left -= size;
    }
  }
  uint64_t h = 1469598103934665603ull; /* FNV-1a over (vaddr, memsz, flags) */
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    uint64_t words[3] = {ph->p_vaddr, ph->p_memsz, ph->p_flags};
    const unsigned char *b = (const unsigned char *)words;
    for (size_t k = 0; k < sizeof words; k++)
      h = (h ^ b[k]) * 1099511628211ull;
  }
  memcpy(id, &h, sizeof h);
  return sizeof h;
}

/* Whether base + offset lies in an executable segment of the module. */
static bool in_code(const struct dl_phdr_info *info, uint64_t offset) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && offset >= ph->p_vaddr &&
        offset - ph->p_vaddr < ph->p_memsz)
      return true;
  }
  return false;
}

/* The main executable neither moves nor goes away, so what a walk of the
 * modules learns about it - its base, identity and code ranges - holds
 * for the life of the process image: kept, it spares the walk (and, in a
 * forked child such as the forkserver's, the page faults of touching every
 * module's headers) for the common case of a target in the program. */
enum { MAX_CODE_RANGES = 8 };
typedef struct {
  uintptr_t base;
  unsigned char id[64];
  size_t id_len;
  size_t ncode;
  uint64_t code_lo[MAX_CODE_RANGES], code_hi[MAX_CODE_RANGES];
} main_module_t;
static main_module_t main_module;
static atomic_int main_state; /* 0 unknown, 1 being written, 2 known */

static void remember_main(const struct dl_phdr_info *info) {
  int expected = 0;
  if (!atomic_compare_exchange_strong(&main_state, &expected, 1))
    return;
  main_module_t m = {.base = info->dlpi_addr};
  m.id_len = module_identity(info, m.id, sizeof m.id);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    if (m.ncode == MAX_CODE_RANGES) {
      atomic_store(&main_state, 0); /* unusual layout: keep walking */
      return;
    }
    m.code_lo[m.ncode] = ph->p_vaddr;
    m.code_hi[m.ncode++] = ph->p_vaddr + ph->p_memsz;
  }
  main_module = m;
  atomic_store_explicit(&main_state, 2, memory_order_release);
}

static bool main_known(void) {
  return atomic_load_explicit(&main_state, memory_order_acquire) == 2;
}

static bool in_main_code(uint64_t offset) {
  for (size_t i = 0; i < main_module.ncode; i++)
    if (offset >= main_module.code_lo[i] && offset < main_module.code_hi[i])
      return true;
  return false;
}

typedef struct {
  uintptr_t addr;
  mproc__fnref_t *ref;
  bool found;
  bool seen_main;
} make_ctx_t;

static int find_containing(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  make_ctx_t *c = data;
  /* The first object dl_iterate_phdr reports is the main program - by its
   * place, not its name: glibc names it "", musl by its path. */
  bool first = !c->seen_main;
  if (first)
    remember_main(info);
  c->seen_main = true;
  if (c->addr < info->dlpi_addr || !in_code(info, c->addr - info->dlpi_addr))
    return 0;
  c->ref->is_main = first;
  const char *name = c->ref->is_main ? "" : info->dlpi_name;
  size_t n = strlen(name) + 1;
  c->ref->module = malloc(n);
  if (c->ref->module)
    memcpy(c->ref->module, name, n);
  c->ref->offset = c->addr - info->dlpi_addr;
  c->ref->id_len = module_identity(info, c->ref->id, sizeof c->ref->id);
  c->found = true;
  return 1;
}

int mproc__os_fnref_make(mproc__fn_t fn, mproc__fnref_t *ref) {
  memset(ref, 0, sizeof *ref);
  uintptr_t addr = (uintptr_t)fn;
  if (main_known() && addr >= main_module.base && in_main_code(addr - main_module.base)) {
    ref->is_main = true;
    ref->module = calloc(1, 1);
    ref->offset = addr - main_module.base;
    memcpy(ref->id, main_module.id, main_module.id_len);
    ref->id_len = main_module.id_len;
    return ref->module ? 0 : mproc__fail(MPROC_ENOMEM, "target: out of memory");
  }
  make_ctx_t c = {addr, ref, false, false};
  dl_iterate_phdr(find_containing, &c);
  if (!c.found)
    return mproc__fail(MPROC_EINVAL, "target 0x%llx is not code of any loaded module",
                       (unsigned long long)(uintptr_t)fn);
  if (!ref->module)
    return mproc__fail(MPROC_ENOMEM, "target: out of memory");
  return 0;
}

typedef struct {
  const mproc__fnref_t *ref;
  uintptr_t fn;
  int rc;
  bool seen_main;
} resolve_ctx_t;

static int find_module(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  resolve_ctx_t *c = data;
  bool is_main = !c->seen_main;
  if (is_main)
    remember_main(info);
  c->seen_main = true;
  if (c->ref->is_main ? !is_main : (is_main || strcmp(info->dlpi_name, c->ref->module) != 0))
    return 0;
  unsigned char id[sizeof c->ref->id];
  size_t id_len = module_identity(info, id, sizeof id);
  if (id_len != c->ref->id_len || memcmp(id, c->ref->id, id_len) != 0) {
    c->rc = mproc__fail(MPROC_EPROTO,
                        "target module %s is another build in this process (build ids differ)",
                        c->ref->is_main ? "(main executable)" : c->ref->module);
  } else if (!in_code(info, c->ref->offset)) {
    c->rc = mproc__fail(MPROC_EPROTO, "target offset 0x%llx is outside the code of %s",
                        (unsigned long long)c->ref->offset,
                        c->ref->is_main ? "the main executable" : c->ref->module);
  } else {
    c->fn = info->dlpi_addr + (uintptr_t)c->ref->offset;
    c->rc = 0;
  }
  return 1;
}

int mproc__os_fnref_resolve(const mproc__fnref_t *ref, mproc__fn_t *fn) {
  if (ref->is_main && main_known()) {
    if (ref->id_len != main_module.id_len || memcmp(ref->id, main_module.id, ref->id_len) != 0)
      return mproc__fail(MPROC_EPROTO, "target module (main executable) is another build in this "
                                       "process (build ids differ)");
    if (!in_main_code(ref->offset))
      return mproc__fail(MPROC_EPROTO,
                         "target offset 0x%llx is outside the code of the main "
                         "executable",
                         (unsigned long long)ref->offset);
    *fn = (mproc__fn_t)(main_module.base + (uintptr_t)ref->offset);
    return 0;
  }
  resolve_ctx_t c = {ref, 0, 1, false};
  dl_iterate_phdr(find_module, &c);
  if (c.rc == 1)
    return mproc__fail(MPROC_EPROTO, "target module %s is not loaded in the child", ref->module);
  if (c.rc == 0)
    *fn = (mproc__fn_t)c.fn;
  return c.rc;
}
