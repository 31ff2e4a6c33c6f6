/* UTF-8 <-> UTF-16 for the Win32 backend: mproc speaks UTF-8, Windows W APIs
 * speak UTF-16. */
#ifndef MPROC_WIN32_WIDE_H
#define MPROC_WIN32_WIDE_H

#include <wchar.h>

/* malloc'd conversions; NULL on failure (invalid input or no memory). */
wchar_t *mproc__wide_from_utf8(const char *s);
char *mproc__utf8_from_wide(const wchar_t *w);

#endif
