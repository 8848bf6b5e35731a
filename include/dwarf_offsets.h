/* Struct layouts from DWARF: sizes and member offsets looked up by name. */
#ifndef PC_DWARF_OFFSETS_H
#define PC_DWARF_OFFSETS_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct pc_dwarf_index;

/* Index the named struct, union and typedef definitions of every CU. */
struct pc_error *pc_dwarf_index_create(Dwarf *dw, struct pc_dwarf_index **out);
void pc_dwarf_index_destroy(struct pc_dwarf_index *idx);

/* TYPE is a typedef name or a struct/union tag ("PyObject", "_is").
 * Returns -1 if unknown. */
int64_t pc_dwarf_sizeof(struct pc_dwarf_index *idx, const char *type);

/* Offset of a member PATH in TYPE: "ob_type", "gc.generations[2]",
 * "types.builtins"; anonymous structs and unions are looked through.
 * Returns -1 if any part is missing.  If SIZE is not NULL it gets the
 * member's size. */
int64_t pc_dwarf_offsetof(struct pc_dwarf_index *idx, const char *type, const char *path,
			  int64_t *size);

/* Number of elements of an array member (e.g. "builtins" in a struct), or -1. */
int64_t pc_dwarf_array_len(struct pc_dwarf_index *idx, const char *type, const char *path);

/* Value of an enumerator, searched in every enum type; false if absent. */
bool pc_dwarf_enumerator(struct pc_dwarf_index *idx, const char *name, int64_t *value);


/* Bit position (from the least significant bit of the containing storage,
 * little-endian) and width of a bitfield member; false if absent. */
bool pc_dwarf_bitfield(struct pc_dwarf_index *idx, const char *type, const char *path,
		       int64_t *byte_off, int *bit_off, int *bit_size);

#endif
