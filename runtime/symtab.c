/*
 * runtime/symtab.c: code addresses to function names, for goroutine dumps.
 *
 * dladdr() names only dynamic symbols: exported functions of shared
 * libraries. A program's own static functions, and the runtime's hidden
 * ones, appear only in the ELF .symtab of their file. So on the first
 * lookup, every loaded object (dl_iterate_phdr) is opened, its .symtab
 * (or, when stripped, its .dynsym) read, and its function symbols kept in
 * an array sorted by address. Lookups then binary-search it.
 *
 * Invariants:
 *  1. The table is built once, under symlock, and never changed after;
 *     readers take symlock only to build it.
 *  2. Lookups never allocate after the table exists (they run from the
 *     SIGQUIT dump and from fatal errors).
 */
#include "internal.h"
#include "alloc.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct sym {
    uintptr_t addr, size;
    const char *name; /* points into the object's mapped file */
    const char *obj;  /* basename of the object */
};

struct object {
    uintptr_t base; /* load bias */
    char *path;
    void *map;      /* the file, mapped read-only (names point into it) */
    size_t maplen;
};

static rg_lock symlock;
static bool built;
static struct sym *syms;
static size_t nsyms, capsyms;
static struct object objs[64];
static int nobjs;

static void add_sym(uintptr_t addr, uintptr_t size, const char *name,
                    const char *obj)
{
    if (nsyms == capsyms) {
        size_t cap = capsyms ? capsyms * 2 : 4096;
        struct sym *n = rg__realloc(syms, cap * sizeof(*n));
        if (!n)
            return;
        syms = n;
        capsyms = cap;
    }
    syms[nsyms++] = (struct sym){addr, size, name, obj};
}

/* Read the function symbols of one mapped ELF file. */
static void load_elf(const char *base_name, const unsigned char *file,
                     size_t len, uintptr_t bias)
{
    const ElfW(Ehdr) *eh = (const void *)file;
    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_shoff == 0 || eh->e_shoff + eh->e_shnum * sizeof(ElfW(Shdr)) > len)
        return;
    const ElfW(Shdr) *sh = (const void *)(file + eh->e_shoff);
    int want = SHT_SYMTAB;
    for (int pass = 0; pass < 2; pass++, want = SHT_DYNSYM) {
        bool found = false;
        for (int i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != (ElfW(Word))want || sh[i].sh_link >= eh->e_shnum)
                continue;
            const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > len ||
                strs->sh_offset + strs->sh_size > len)
                continue;
            const ElfW(Sym) *st = (const void *)(file + sh[i].sh_offset);
            size_t n = sh[i].sh_size / sizeof(ElfW(Sym));
            const char *names = (const char *)file + strs->sh_offset;
            for (size_t k = 0; k < n; k++) {
                if (ELF64_ST_TYPE(st[k].st_info) != STT_FUNC ||
                    st[k].st_value == 0 || st[k].st_name >= strs->sh_size)
                    continue;
                add_sym(bias + st[k].st_value, st[k].st_size,
                        names + st[k].st_name, base_name);
                found = true;
            }
        }
        if (found)
            return;
    }
}

static int each_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    if (nobjs == (int)(sizeof(objs) / sizeof(objs[0])))
        return 1;
    const char *path = info->dlpi_name;
    char exe[4096];
    if (!path || !*path) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            return 0;
        exe[n] = 0;
        path = exe;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat stt;
    void *map = MAP_FAILED;
    if (fstat(fd, &stt) == 0 && stt.st_size > 0)
        map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return 0;
    struct object *o = &objs[nobjs++];
    o->base = info->dlpi_addr;
    o->map = map;
    o->maplen = (size_t)stt.st_size;
    const char *slash = strrchr(path, '/');
    o->path = strdup(slash ? slash + 1 : path);
    load_elf(o->path, map, o->maplen, o->base);
    return 0;
}

static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Build the table now (see rg__traceback_install). Any thread. */
void rg__symtab_load(void)
{
    rg__lock(&symlock);
    if (!built) {
        dl_iterate_phdr(each_object, NULL);
        qsort(syms, nsyms, sizeof(*syms), cmp_sym);
        __atomic_store_n(&built, true, __ATOMIC_RELEASE);
    }
    rg__unlock(&symlock);
}

/*
 * symbolize: write "name+0xoff (object)" for pc into buf. Falls back to
 * dladdr, then to the raw address.
 */
void rg__symbolize(uintptr_t pc, char *buf, size_t len)
{
    if (!__atomic_load_n(&built, __ATOMIC_ACQUIRE))
        rg__symtab_load();
    size_t lo = 0, hi = nsyms;
    while (lo < hi) { /* last symbol with addr <= pc */
        size_t mid = (lo + hi) / 2;
        if (syms[mid].addr <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const struct sym *s = &syms[lo - 1];
        if (pc < s->addr + (s->size ? s->size : 4096)) {
            snprintf(buf, len, "%s+0x%lx (%s)", s->name,
                     (unsigned long)(pc - s->addr), s->obj);
            return;
        }
    }
    Dl_info info;
    if (dladdr((void *)pc, &info) && info.dli_sname) {
        snprintf(buf, len, "%s+0x%lx", info.dli_sname,
                 (unsigned long)(pc - (uintptr_t)info.dli_saddr));
        return;
    }
    snprintf(buf, len, "0x%lx", (unsigned long)pc);
}
