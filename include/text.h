/* Text read from the target made fit for output: valid UTF-8 with no
 * control characters, whatever the target's memory holds, in a way that
 * can be undone.  The rule (also in the man page, TYPE NAMES):
 *
 *   \\      a backslash
 *   \n \r \t  those control characters
 *   \xNN    the byte NN: another C0 control character or DEL (NN < 80),
 *           or a byte that is not part of valid UTF-8 (NN >= 80)
 *   \uNNNN  the code point NNNN: a C1 control character (U+0080-U+009F)
 *           or a surrogate (U+D800-U+DFFF, which a Python str can hold)
 *
 * Everything else is copied as it is.  Text needing none of these is
 * unchanged. */
#ifndef PC_TEXT_H
#define PC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The escaped form of the LEN bytes at S, NUL-terminated, malloc'd; NULL
 * when out of memory. */
char *pc_text_escape(const char *s, size_t len);

/* Whether the LEN bytes at S are valid UTF-8 with no control character,
 * backslash or surrogate: text pc_text_escape() leaves unchanged. */
bool pc_text_clean(const char *s, size_t len);

/* Whether the LEN bytes at S are valid UTF-8 (surrogates excluded). */
bool pc_text_utf8(const char *s, size_t len);

/* Whether they are valid UTF-8 with no control character: fit for a
 * line of a table as they are. */
bool pc_text_printable(const char *s, size_t len);

/* S itself if it is valid UTF-8 (PRINTABLE: and has no control character),
 * else its escaped form, stored in *FREE for the caller to free.  For
 * strings that are not type names (paths, versions, file names): those are
 * escaped only when they must be. */
const char *pc_text_show(const char *s, bool printable, char **free);

/* The bytes of the longest prefix of S (valid UTF-8) of at most MAXCOLS
 * characters, never cutting one; their count of characters in *COLS. */
size_t pc_text_prefix(const char *s, size_t maxcols, size_t *cols);

#endif
