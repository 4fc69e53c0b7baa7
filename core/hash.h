/*
 * hash.h - the one stable 64-bit hash of nudge: FNV-1a, 64 bits. Run ids
 * (rules/run.c), rule versions (rules/compile.c) and holdout draws
 * (rules/holdout.h) use it. Its values are part of what nudge stores and
 * of what tests recompute (in Python: h = (h ^ byte) * 0x100000001b3 mod
 * 2^64 from 0xcbf29ce484222325), so it never changes.
 */
#ifndef NUDGE_CORE_HASH_H
#define NUDGE_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* Goes on hashing n bytes at p from h (FNV1A64_INIT to begin). */
uint64_t fnv1a64_more(uint64_t h, const void *p, size_t n);
/* The hash of a NUL-terminated string (without its NUL). */
uint64_t fnv1a64_str(const char *s);

#endif
