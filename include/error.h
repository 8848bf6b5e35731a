/* Errors are values: every fallible function returns a struct pc_error *
 * (NULL = success).  The exit code of the command is decided by the code
 * carried in the error, in one place (main.c). */
#ifndef PC_ERROR_H
#define PC_ERROR_H

#include <stdarg.h>

/* Exit codes, documented in man/pycensus.1 and --help. */
enum pc_exit {
	PC_EXIT_OK = 0,
	PC_EXIT_FAILED = 1,   /* the census failed (target exited, corrupt, ...) */
	PC_EXIT_USAGE = 2,    /* bad command line */
	PC_EXIT_NOPROC = 3,   /* no such process */
	PC_EXIT_NOTPY = 4,    /* not a CPython pycensus can read */
	PC_EXIT_PERM = 5,     /* not allowed to trace the process */
	PC_EXIT_NODEBUG = 6,  /* debug information not found */
	PC_EXIT_INPUT = 7,    /* unreadable or malformed input file (diff) */
};

struct pc_error {
	enum pc_exit code;
	char msg[1024];
};

struct pc_error *pc_error_new(enum pc_exit code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct pc_error *pc_error_vnew(enum pc_exit code, const char *fmt, va_list ap);
/* Static, so reporting out-of-memory allocates nothing. */
struct pc_error *pc_error_nomem(void);
void pc_error_destroy(struct pc_error *err);

#endif
