#include <string.h>

#include "traverse_names.h"

/* Which CPython type sets each traverse function the rules mirror, by the
 * name the census gives the type (types.c: tp_name less "builtins.", or
 * module.qualname of a heap type).  Read off the DWARF builds 2.7, 3.6-3.15: for
 * every type of a running interpreter, the type up its tp_base chain whose
 * tp_traverse is no longer inherited, named by the .symtab symbol of that
 * function.  Several names for one function are the same type renamed
 * across versions (weakref -> weakref.ReferenceType) or several types
 * sharing it (set, frozenset).  Instances of Python classes
 * (subtype_traverse) and struct sequences (named per type) are recognised
 * by their shape, not by name: referents.c. */
static const struct { const char *type, *fn, *file; } table[] = {
	{ "tuple", "tupletraverse", NULL },
	{ "list", "list_traverse", NULL },
	{ "dict", "dict_traverse", NULL },
	{ "frozendict", "dict_traverse", NULL },
	{ "set", "set_traverse", NULL },
	{ "frozenset", "set_traverse", NULL },
	{ "type", "type_traverse", NULL },
	{ "function", "func_traverse", NULL },
	{ "classmethod", "cm_traverse", NULL },
	{ "staticmethod", "sm_traverse", NULL },
	{ "cell", "cell_traverse", NULL },
	{ "method", "method_traverse", NULL },
	{ "instancemethod", "instancemethod_traverse", NULL },
	{ "builtin_function_or_method", "meth_traverse", NULL },
	{ "method_descriptor", "descr_traverse", NULL },
	{ "classmethod_descriptor", "descr_traverse", NULL },
	{ "member_descriptor", "descr_traverse", NULL },
	{ "getset_descriptor", "descr_traverse", NULL },
	{ "wrapper_descriptor", "descr_traverse", NULL },
	{ "property", "property_traverse", NULL },
	{ "mappingproxy", "mappingproxy_traverse", NULL },
	{ "method-wrapper", "wrapper_traverse", NULL },
	{ "weakref", "gc_traverse", NULL },
	{ "weakproxy", "gc_traverse", NULL },
	{ "weakcallableproxy", "gc_traverse", NULL },
	{ "weakref.ReferenceType", "gc_traverse", NULL },
	{ "weakref.ProxyType", "gc_traverse", NULL },
	{ "weakref.CallableProxyType", "gc_traverse", NULL },
	{ "BaseException", "BaseException_traverse", NULL },
	{ "module", "module_traverse", NULL },
	{ "types.SimpleNamespace", "namespace_traverse", NULL },
	{ "frame", "frame_traverse", NULL },
	{ "generator", "gen_traverse", NULL },
	{ "coroutine", "gen_traverse", NULL },
	{ "async_generator", "async_gen_traverse", NULL },
	{ "enumerate", "enum_traverse", NULL },
	{ "iterator", "iter_traverse", NULL },
	{ "dict_keys", "dictview_traverse", NULL },
	{ "dict_values", "dictview_traverse", NULL },
	{ "dict_items", "dictview_traverse", NULL },
	{ "super", "super_traverse", NULL },
	{ "memoryview", "memory_traverse", NULL },
	{ "managedbuffer", "mbuf_traverse", NULL },
	{ "functools.partial", "partial_traverse", NULL },
	{ "functools._lru_cache_wrapper", "lru_cache_tp_traverse", NULL },
	{ "functools._lru_list_elem", "lru_list_elem_traverse", NULL },
	{ "slice", "slice_traverse", NULL },
	{ "sentinel", "sentinel_traverse", NULL },
	{ "collections.deque", "deque_traverse", NULL },
	{ "collections.defaultdict", "defdict_traverse", NULL },
	{ "collections.OrderedDict", "odict_traverse", NULL },
	{ "re.Pattern", "pattern_traverse", NULL },
	{ "_io.FileIO", "fileio_traverse", NULL },
	{ "_io.BufferedReader", "buffered_traverse", NULL },
	{ "_io.BufferedWriter", "buffered_traverse", NULL },
	{ "_io.BufferedRandom", "buffered_traverse", NULL },
	{ "_io.TextIOWrapper", "textiowrapper_traverse", NULL },
	{ "types.GenericAlias", "ga_traverse", NULL },
	{ "types.UnionType", "union_traverse", NULL },
	{ "typing.Union", "union_traverse", NULL },
	{ "traceback", "tb_traverse", NULL },
	{ "_thread._local", "local_traverse", NULL },
	{ "_abc._abc_data", "abc_data_traverse", NULL },
	/* _sre.c has a scanner_traverse too, for _sre.SRE_Scanner */
	{ "_json.Scanner", "scanner_traverse", "_json.c" },
	{ "_io.BytesIO", "bytesio_traverse", NULL },
	{ "_collections._tuplegetter", "tuplegetter_traverse", NULL },
	{ "collections._tuplegetter", "tuplegetter_traverse", NULL },
	{ "itertools.count", "count_traverse", NULL },
	{ "Context", "context_tp_traverse", NULL },
	{ "ContextVar", "contextvar_tp_traverse", NULL },
	{ "_contextvars.Context", "context_tp_traverse", NULL },
	{ "_contextvars.ContextVar", "contextvar_tp_traverse", NULL },
	{ "hamt", "hamt_tp_traverse", NULL },
	{ "lazy_import", "lazy_import_traverse", NULL },
	/* 2.7 (its DWARF build): old-style classes and their instances */
	{ "classobj", "class_traverse", NULL },
	{ "instance", "instance_traverse", NULL },
};

const char *pc_traverse_of_type(const char *type, const char **file)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].type, type)) {
			*file = table[i].file;
			return table[i].fn;
		}
	return NULL;
}
