/* The traverse function each builtin type defines, by the type's name: how
 * the referents rules recognise types in an interpreter without a symbol
 * table (strip --strip-all), where no traverse function has a name. */
#ifndef PC_TRAVERSE_NAMES_H
#define PC_TRAVERSE_NAMES_H

/* The name of the tp_traverse function that the type named TYPE (as the
 * census names it) sets itself, or NULL if pycensus has no rule for it.
 * *FILE is the source file when the name alone is ambiguous, else NULL. */
const char *pc_traverse_of_type(const char *type, const char **file);

#endif
