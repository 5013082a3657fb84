/* fuzz_memfile.h - the runtime harnesses' input as a file.
 *
 * The runtime's readers (IDX, .npy, safetensors) take a path, so each
 * fuzz input is written into one anonymous in-memory file (memfd_create)
 * and read back through its /proc/self/fd path: no disk traffic, nothing
 * left behind when the fuzzer stops, and the reader sees a regular file of
 * exactly the input's size (what it checks announced sizes against).
 */
#ifndef DLC_FUZZ_MEMFILE_H
#define DLC_FUZZ_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

/* Replaces the in-memory file's contents with data[0..size) and returns
 * its path (the same each call).  Aborts if the file cannot be written. */
const char *fuzz_memfile(const uint8_t *data, size_t size);

#endif
