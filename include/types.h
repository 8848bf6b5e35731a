/* Type objects: reading them once, naming them as Python would, and the map
 * from a type's address to what the census knows of it. */
#ifndef PC_TYPES_H
#define PC_TYPES_H

#include "pyobj.h"

struct pc_typemap *pc_typemap_create(void);
void pc_typemap_destroy(struct pc_typemap *map);

/* The type at ADDR, read and named on first sight; NULL if ADDR does not
 * hold something that looks like a type object (its own type must be a
 * type: `type` or a metaclass). */
struct pc_type *pc_type_get(struct pc_py *py, uint64_t addr);

/* The type of the object at ADDR (its ob_type, read and checked), or NULL. */
struct pc_type *pc_type_of(struct pc_py *py, uint64_t addr);

/* Whether the object at ADDR has a non-zero reference count: read live, a
 * stale pointer can lead to an object freed since (its memory intact but
 * for the allocator's links, its count 0). */
bool pc_alive(struct pc_py *py, uint64_t addr);

/* Iterate over every type seen: *cursor starts at 0. */
struct pc_type *pc_typemap_next(struct pc_typemap *map, size_t *cursor);
size_t pc_typemap_count(const struct pc_typemap *map);

#endif
