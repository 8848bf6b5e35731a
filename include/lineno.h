/* The line a frame runs: its instruction position decoded through its
 * code object's line table, as the target's own f_lineno would say.
 *
 * Two layers.  pc_lines_addr2line decodes one table already copied out of
 * the target (co_lnotab, 3.10's co_linetable pairs, 3.11+'s location
 * entries), bounded by its length: any bytes give an answer or a refusal,
 * never a read outside them (the fuzzer feeds it garbage).  pc_frame_line
 * reads a frame's position and its code's table through the layout's line
 * model and says why when it cannot (the caller then names the first
 * line instead). */
#ifndef PC_LINENO_H
#define PC_LINENO_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"

/* How a table encodes lines (the layout's line model, with 2.7's unsigned
 * lnotab apart). */
enum pc_lines_format {
	PC_LINES_LNOTAB_UNSIGNED,   /* (bytecode delta, line delta) unsigned byte pairs (2.7) */
	PC_LINES_LNOTAB_SIGNED,     /* the same, line deltas signed (3.6-3.9) */
	PC_LINES_PAIRS_310,         /* (bytecode delta, signed line delta; -128 no line) (3.10) */
	PC_LINES_LOCATION_ENTRIES,  /* location entries: kind, length in code units, varints (3.11+) */
};

enum pc_line_status {
	PC_LINE_OK,
	PC_LINE_NO_LINE,     /* the instruction has no line (an artificial one) */
	PC_LINE_BAD_TABLE,   /* the table ends before ADDR, or is malformed */
	PC_LINE_NO_POSITION, /* the frame's instruction position is unreadable or outside its code */
	PC_LINE_UNREADABLE,  /* the code object or its table could not be read */
	PC_LINE_UNKNOWN,     /* the layout has no line model for this build */
};

/* The line of the instruction at byte offset ADDR of a code object whose
 * first line is FIRST, from the table TAB of N bytes in format F.  A
 * negative ADDR (a frame that has not started) is the first line, as
 * CPython's PyCode_Addr2Line says. */
enum pc_line_status pc_lines_addr2line(enum pc_lines_format f, const uint8_t *tab, size_t n, int32_t first,
				       int64_t addr, int32_t *line);

/* The line frame FRAME (a frame object where the layout's frame model is
 * PC_FRAME_OBJECT, else an interpreter frame) runs in CODE.  On anything
 * but PC_LINE_OK, *LINE is CODE's co_firstlineno (0 if unreadable). */
enum pc_line_status pc_frame_line(struct pc_py *py, uint64_t frame, uint64_t code, int32_t *line);

#endif
