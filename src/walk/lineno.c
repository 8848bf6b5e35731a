#include <stdlib.h>
#include <string.h>

#include "lineno.h"

/* A line table longer than this is no code object's: refused, not copied. */
#define LINES_MAX (1u << 20)

static bool line_ok(int64_t line)
{
	return line >= INT32_MIN && line <= INT32_MAX;
}

/* (bytecode delta, line delta) pairs: the line of the last pair whose
 * address is not past ADDR (CPython <= 3.9's PyCode_Addr2Line). */
static enum pc_line_status lnotab(const uint8_t *tab, size_t n, bool is_signed, int32_t first, int64_t addr,
				  int32_t *line)
{
	int64_t l = first, at = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		at += tab[i];
		if (at > addr)
			break;
		l += is_signed ? (int8_t)tab[i + 1] : tab[i + 1];
		if (!line_ok(l))
			return PC_LINE_BAD_TABLE;
	}
	*line = (int32_t)l;
	return PC_LINE_OK;
}

/* 3.10: each pair covers [start, start + bytecode delta); its line is the
 * running sum of the line deltas, none where the delta is -128. */
static enum pc_line_status pairs_310(const uint8_t *tab, size_t n, int32_t first, int64_t addr, int32_t *line)
{
	int64_t l = first, start = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		int64_t end = start + tab[i];
		int8_t d = (int8_t)tab[i + 1];
		bool none = d == -128;
		if (!none)
			l += d;
		if (!line_ok(l))
			return PC_LINE_BAD_TABLE;
		if (addr >= start && addr < end) {
			if (none)
				return PC_LINE_NO_LINE;
			*line = (int32_t)l;
			return PC_LINE_OK;
		}
		start = end;
	}
	return PC_LINE_BAD_TABLE;
}

/* An unsigned varint of the location table (6-bit chunks, least
 * significant first, bit 6 set on all but the last) in TAB[*I..END). */
static bool varint(const uint8_t *tab, size_t end, size_t *i, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift <= 54; shift += 6) {
		if (*i >= end)
			return false;
		uint8_t b = tab[(*i)++];
		r |= (uint64_t)(b & 63) << shift;
		if (!(b & 64)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* 3.11+: entries of a first byte with bit 7 set (kind in bits 3-6, length
 * in code units - 1 in bits 0-2) and bytes with bit 7 clear.  The kinds
 * move the line: 13 (no columns) and 14 (long form) by a signed varint,
 * 10-12 by kind - 10, the short forms 0-9 not at all; 15 has no line. */
static enum pc_line_status locations(const uint8_t *tab, size_t n, int32_t first, int64_t addr, int32_t *line)
{
	int64_t l = first, start = 0;
	size_t i = 0;
	while (i < n) {
		uint8_t b = tab[i];
		if (!(b & 128))
			return PC_LINE_BAD_TABLE;
		size_t end = i + 1;
		while (end < n && !(tab[end] & 128))
			end++;
		int kind = (b >> 3) & 15;
		int64_t len = ((b & 7) + 1) * 2;   /* in bytes: code units are 2 */
		int64_t delta = 0;
		if (kind == 13 || kind == 14) {
			uint64_t u;
			size_t at = i + 1;
			if (!varint(tab, end, &at, &u))
				return PC_LINE_BAD_TABLE;
			delta = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
		} else if (kind >= 10 && kind <= 12) {
			delta = kind - 10;
		}
		l += delta;
		if (!line_ok(l))
			return PC_LINE_BAD_TABLE;
		if (addr >= start && addr < start + len) {
			if (kind == 15)
				return PC_LINE_NO_LINE;
			*line = (int32_t)l;
			return PC_LINE_OK;
		}
		start += len;
		i = end;
	}
	return PC_LINE_BAD_TABLE;
}

enum pc_line_status pc_lines_addr2line(enum pc_lines_format f, const uint8_t *tab, size_t n, int32_t first,
				       int64_t addr, int32_t *line)
{
	*line = first;
	if (addr < 0)
		return PC_LINE_OK;
	if (!tab && n)
		return PC_LINE_BAD_TABLE;
	switch (f) {
	case PC_LINES_LNOTAB_UNSIGNED:
		return lnotab(tab, n, false, first, addr, line);
	case PC_LINES_LNOTAB_SIGNED:
		return lnotab(tab, n, true, first, addr, line);
	case PC_LINES_PAIRS_310:
		return pairs_310(tab, n, first, addr, line);
	case PC_LINES_LOCATION_ENTRIES:
		return locations(tab, n, first, addr, line);
	}
	return PC_LINE_UNKNOWN;
}

/* The byte offset of the instruction FRAME runs in CODE, per the line
 * model; negative before the first. */
static enum pc_line_status position(struct pc_py *py, uint64_t frame, uint64_t code, int64_t *addr)
{
	const struct pc_layout *L = py->L;
	if (L->line_model == PC_LINES_LOCATIONS) {
		/* prev_instr (3.11, 3.12; the code's start - 1 unit before the
		 * first) or instr_ptr (3.13+), a code unit of co_code_adaptive,
		 * of which the code object has ob_size */
		uint64_t p;
		int64_t units;
		if (!pc_u64(py, frame + (uint64_t)L->iframe_instr, &p) ||
		    !pc_i64(py, code + (uint64_t)L->ob_size, &units))
			return PC_LINE_NO_POSITION;
		int64_t off = (int64_t)(p - (code + (uint64_t)L->co_code_adaptive));
		if (units < 0 || units > (int64_t)LINES_MAX || off < -2 || off >= units * 2)
			return PC_LINE_NO_POSITION;
		*addr = off < 0 ? -1 : off & ~(int64_t)1;
		return PC_LINE_OK;
	}
	int32_t lasti;
	if (!pc_mem_read(py->mem, frame + (uint64_t)L->f_lasti, &lasti, 4))
		return PC_LINE_NO_POSITION;
	/* 3.10 counts code units of 2 bytes; before, bytes */
	*addr = L->line_model == PC_LINES_PAIRS && lasti >= 0 ? (int64_t)lasti * 2 : lasti;
	return PC_LINE_OK;
}

enum pc_line_status pc_frame_line(struct pc_py *py, uint64_t frame, uint64_t code, int32_t *line)
{
	const struct pc_layout *L = py->L;
	int32_t first = 0;
	*line = 0;
	if (!code || L->co_firstlineno < 0 || pc_ob_type(py, code) != py->kind_type[PK_CODE] ||
	    !pc_mem_read(py->mem, code + (uint64_t)L->co_firstlineno, &first, 4))
		return PC_LINE_UNREADABLE;
	*line = first;
	if (L->line_model == PC_LINES_NONE)
		return PC_LINE_UNKNOWN;
	int64_t addr;
	enum pc_line_status st = position(py, frame, code, &addr);
	if (st != PC_LINE_OK)
		return st;
	uint64_t tab;
	int64_t n;
	/* the table is a bytes object (2.7: str, the bytes kind there) */
	if (!pc_u64(py, code + (uint64_t)L->co_lines, &tab) || pc_ob_type(py, tab) != py->kind_type[PK_BYTES] ||
	    !pc_i64(py, tab + (uint64_t)L->ob_size, &n))
		return PC_LINE_UNREADABLE;
	if (n < 0 || n > (int64_t)LINES_MAX)
		return PC_LINE_BAD_TABLE;
	uint8_t *buf = malloc(n ? (size_t)n : 1);
	if (!buf)
		return PC_LINE_UNREADABLE;
	if (n && !pc_mem_read(py->mem, tab + (uint64_t)L->lines_sval, buf, (size_t)n)) {
		free(buf);
		return PC_LINE_UNREADABLE;
	}
	enum pc_lines_format f = L->line_model == PC_LINES_LOCATIONS ? PC_LINES_LOCATION_ENTRIES
				 : L->line_model == PC_LINES_PAIRS ? PC_LINES_PAIRS_310
				 : L->lnotab_signed ? PC_LINES_LNOTAB_SIGNED
						    : PC_LINES_LNOTAB_UNSIGNED;
	int32_t l;
	st = pc_lines_addr2line(f, buf, (size_t)n, first, addr, &l);
	free(buf);
	if (st == PC_LINE_OK)
		*line = l;
	return st;
}
