#include <dwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_offsets.h"

/* Open-addressing map from a type name to the DIE offset of its first
 * complete definition.  Struct layouts agree across CUs, so the first one
 * found is as good as any. */
struct entry {
	const char *name;  /* points into .debug_str, lives as long as Dwarf */
	Dwarf_Off off;
};

struct pc_dwarf_index {
	Dwarf *dw;
	struct entry *tab;
	size_t cap, n;
	/* Enumerators are indexed the same way; their DIE is the enumerator. */
	struct entry *etab;
	size_t ecap, en;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static bool put(struct entry **tab, size_t *cap, size_t *n, const char *name, Dwarf_Off off)
{
	if ((*n + 1) * 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		struct entry *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return false;
		for (size_t i = 0; i < *cap; i++) {
			if (!(*tab)[i].name)
				continue;
			size_t j = hash_str((*tab)[i].name) & (ncap - 1);
			while (nt[j].name)
				j = (j + 1) & (ncap - 1);
			nt[j] = (*tab)[i];
		}
		free(*tab);
		*tab = nt;
		*cap = ncap;
	}
	size_t j = hash_str(name) & (*cap - 1);
	while ((*tab)[j].name) {
		if (!strcmp((*tab)[j].name, name))
			return true;  /* keep the first definition */
		j = (j + 1) & (*cap - 1);
	}
	(*tab)[j].name = name;
	(*tab)[j].off = off;
	(*n)++;
	return true;
}

static bool get(const struct entry *tab, size_t cap, const char *name, Dwarf_Off *off)
{
	if (!cap)
		return false;
	size_t j = hash_str(name) & (cap - 1);
	while (tab[j].name) {
		if (!strcmp(tab[j].name, name)) {
			*off = tab[j].off;
			return true;
		}
		j = (j + 1) & (cap - 1);
	}
	return false;
}

/* Follow typedefs and qualifiers to the underlying type. */
static bool peel(Dwarf_Die *die)
{
	for (int i = 0; i < 16; i++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			return true;
		Dwarf_Attribute a;
		if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, die))
			return false;
	}
	return false;
}

static bool index_die(struct pc_dwarf_index *idx, Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	if (tag == DW_TAG_enumeration_type) {
		Dwarf_Die child;
		if (dwarf_child(die, &child) == 0) {
			do {
				const char *n = dwarf_diename(&child);
				if (n && !put(&idx->etab, &idx->ecap, &idx->en, n, dwarf_dieoffset(&child)))
					return false;
			} while (dwarf_siblingof(&child, &child) == 0);
		}
	}
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type && tag != DW_TAG_typedef)
		return true;
	const char *name = dwarf_diename(die);
	if (!name)
		return true;
	if (dwarf_hasattr(die, DW_AT_declaration))
		return true;
	if (tag == DW_TAG_typedef) {
		/* A typedef of a struct this CU only declares is useless: another
		 * CU will give the complete one. */
		Dwarf_Die target = *die;
		if (!peel(&target) || dwarf_hasattr(&target, DW_AT_declaration))
			return true;
	}
	return put(&idx->tab, &idx->cap, &idx->n, name, dwarf_dieoffset(die));
}

struct pc_error *pc_dwarf_index_create(Dwarf *dw, struct pc_dwarf_index **out)
{
	struct pc_dwarf_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return pc_error_nomem();
	idx->dw = dw;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				if (!index_die(idx, &child)) {
					pc_dwarf_index_destroy(idx);
					return pc_error_nomem();
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
	if (idx->n == 0) {
		pc_dwarf_index_destroy(idx);
		return pc_error_new(PC_EXIT_NODEBUG, "the debug information holds no type definitions");
	}
	*out = idx;
	return NULL;
}

void pc_dwarf_index_destroy(struct pc_dwarf_index *idx)
{
	if (!idx)
		return;
	free(idx->tab);
	free(idx->etab);
	free(idx);
}

static bool lookup(struct pc_dwarf_index *idx, const char *type, Dwarf_Die *die)
{
	Dwarf_Off off;
	if (!get(idx->tab, idx->cap, type, &off) || !dwarf_offdie(idx->dw, off, die))
		return false;
	return peel(die);
}

int64_t pc_dwarf_sizeof(struct pc_dwarf_index *idx, const char *type)
{
	Dwarf_Die die;
	Dwarf_Word size;
	if (!lookup(idx, type, &die) || dwarf_aggregate_size(&die, &size) != 0)
		return -1;
	return (int64_t)size;
}

static bool member_offset(Dwarf_Die *member, int64_t *off)
{
	Dwarf_Attribute a;
	if (!dwarf_attr(member, DW_AT_data_member_location, &a)) {
		*off = 0;  /* union members */
		return true;
	}
	Dwarf_Word w;
	if (dwarf_formudata(&a, &w) == 0) {
		*off = (int64_t)w;
		return true;
	}
	Dwarf_Op *ops;
	size_t nops;
	if (dwarf_getlocation(&a, &ops, &nops) == 0 && nops == 1 &&
	    ops[0].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[0].number;
		return true;
	}
	return false;
}

/* Find NAME among the members of the struct/union DIE, looking through
 * anonymous members.  On success DIE becomes the member's type. */
static bool find_member(Dwarf_Die *die, const char *name, size_t namelen, int64_t *off, int depth)
{
	Dwarf_Die child;
	if (depth > 8 || dwarf_child(die, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *n = dwarf_diename(&child);
		int64_t moff;
		if (!member_offset(&child, &moff))
			continue;
		Dwarf_Attribute a;
		Dwarf_Die type;
		if (!dwarf_attr(&child, DW_AT_type, &a) || !dwarf_formref_die(&a, &type))
			continue;
		if (n && strlen(n) == namelen && !strncmp(n, name, namelen)) {
			*off += moff;
			*die = type;
			return true;
		}
		if (!n) {
			Dwarf_Die inner = type;
			int64_t ioff = 0;
			if (peel(&inner) && find_member(&inner, name, namelen, &ioff, depth + 1)) {
				*off += moff + ioff;
				*die = inner;
				return true;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/* Walk PATH from the struct TYPE; leaves DIE at the last member's type. */
static bool resolve(struct pc_dwarf_index *idx, const char *type, const char *path,
		    Dwarf_Die *die, int64_t *off)
{
	if (!lookup(idx, type, die))
		return false;
	*off = 0;
	const char *p = path;
	while (*p) {
		size_t len = strcspn(p, ".[");
		if (!peel(die) || !find_member(die, p, len, off, 0))
			return false;
		p += len;
		while (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);
			if (*end != ']' || !peel(die) || dwarf_tag(die) != DW_TAG_array_type)
				return false;
			Dwarf_Attribute a;
			Dwarf_Die elem;
			Dwarf_Word esize;
			if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &elem))
				return false;
			Dwarf_Die pe = elem;
			if (!peel(&pe) || dwarf_aggregate_size(&pe, &esize) != 0)
				return false;
			*off += i * (int64_t)esize;
			*die = elem;
			p = end + 1;
		}
		if (*p == '.')
			p++;
	}
	return true;
}

int64_t pc_dwarf_offsetof(struct pc_dwarf_index *idx, const char *type, const char *path, int64_t *size)
{
	Dwarf_Die die;
	int64_t off;
	if (!resolve(idx, type, path, &die, &off))
		return -1;
	if (size) {
		Dwarf_Word sz;
		*size = (peel(&die) && dwarf_aggregate_size(&die, &sz) == 0) ? (int64_t)sz : -1;
	}
	return off;
}

int64_t pc_dwarf_array_len(struct pc_dwarf_index *idx, const char *type, const char *path)
{
	Dwarf_Die die;
	int64_t off;
	if (!resolve(idx, type, path, &die, &off) || !peel(&die) || dwarf_tag(&die) != DW_TAG_array_type)
		return -1;
	Dwarf_Die sub;
	if (dwarf_child(&die, &sub) != 0 || dwarf_tag(&sub) != DW_TAG_subrange_type)
		return -1;
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (dwarf_attr(&sub, DW_AT_count, &a) && dwarf_formudata(&a, &w) == 0)
		return (int64_t)w;
	if (dwarf_attr(&sub, DW_AT_upper_bound, &a) && dwarf_formudata(&a, &w) == 0)
		return (int64_t)w + 1;
	return -1;
}

bool pc_dwarf_enumerator(struct pc_dwarf_index *idx, const char *name, int64_t *value)
{
	Dwarf_Off off;
	Dwarf_Die die;
	Dwarf_Attribute a;
	Dwarf_Sword sv;
	if (!get(idx->etab, idx->ecap, name, &off) || !dwarf_offdie(idx->dw, off, &die) ||
	    !dwarf_attr(&die, DW_AT_const_value, &a) || dwarf_formsdata(&a, &sv) != 0)
		return false;
	*value = sv;
	return true;
}

bool pc_dwarf_bitfield(struct pc_dwarf_index *idx, const char *type, const char *path,
		       int64_t *byte_off, int *bit_off, int *bit_size)
{
	/* Resolve the parent, then find the member DIE itself for its bit
	 * attributes. */
	const char *dot = strrchr(path, '.');
	Dwarf_Die parent;
	int64_t off = 0;
	if (dot) {
		char buf[256];
		size_t n = (size_t)(dot - path);
		if (n >= sizeof(buf))
			return false;
		memcpy(buf, path, n);
		buf[n] = 0;
		if (!resolve(idx, type, buf, &parent, &off))
			return false;
	} else if (!lookup(idx, type, &parent)) {
		return false;
	}
	if (!peel(&parent))
		return false;
	const char *name = dot ? dot + 1 : path;
	Dwarf_Die child;
	if (dwarf_child(&parent, &child) != 0)
		return false;
	do {
		const char *n = dwarf_diename(&child);
		if (dwarf_tag(&child) != DW_TAG_member || !n || strcmp(n, name))
			continue;
		Dwarf_Attribute a;
		Dwarf_Word w;
		if (!dwarf_attr(&child, DW_AT_bit_size, &a) || dwarf_formudata(&a, &w) != 0)
			return false;
		*bit_size = (int)w;
		if (dwarf_attr(&child, DW_AT_data_bit_offset, &a) && dwarf_formudata(&a, &w) == 0) {
			*byte_off = off + (int64_t)(w / 8);
			*bit_off = (int)(w % 8);
			return true;
		}
		/* DWARF 2/3: DW_AT_bit_offset counts from the most significant bit
		 * of a DW_AT_byte_size storage unit. */
		int64_t moff;
		Dwarf_Word bsize, boff;
		if (!member_offset(&child, &moff) ||
		    !dwarf_attr(&child, DW_AT_byte_size, &a) || dwarf_formudata(&a, &bsize) != 0 ||
		    !dwarf_attr(&child, DW_AT_bit_offset, &a) || dwarf_formudata(&a, &boff) != 0)
			return false;
		int64_t lsb = (int64_t)(bsize * 8 - boff - (Dwarf_Word)*bit_size);
		*byte_off = off + moff + lsb / 8;
		*bit_off = (int)(lsb % 8);
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}
