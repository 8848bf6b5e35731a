#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The code point of the UTF-8 sequence at S (at most LEFT bytes) and its
 * length in *N, or -1 if S does not start a valid sequence.  Surrogates
 * (ED A0..BF xx) are decoded: the caller decides what they are. */
static int32_t decode(const unsigned char *s, size_t left, size_t *n)
{
	unsigned char c = s[0];
	int32_t cp;
	size_t len;
	if (c < 0x80) {
		*n = 1;
		return c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (left < len)
		return -1;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms and code points past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	*n = len;
	return cp;
}

static bool is_surrogate(int32_t cp)
{
	return cp >= 0xd800 && cp <= 0xdfff;
}

static bool needs_escape(int32_t cp)
{
	return cp < 0x20 || cp == 0x7f || cp == '\\' || (cp >= 0x80 && cp <= 0x9f) || is_surrogate(cp);
}

bool pc_text_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, n; i < len; i += n) {
		int32_t cp = decode(p + i, len - i, &n);
		if (cp < 0 || is_surrogate(cp))
			return false;
	}
	return true;
}

bool pc_text_printable(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, n; i < len; i += n) {
		int32_t cp = decode(p + i, len - i, &n);
		if (cp < 0 || (cp != '\\' && needs_escape(cp)))
			return false;
	}
	return true;
}

const char *pc_text_show(const char *s, bool printable, char **free)
{
	*free = NULL;
	size_t len = strlen(s);
	if (printable ? pc_text_printable(s, len) : pc_text_utf8(s, len))
		return s;
	*free = pc_text_escape(s, len);
	return *free ? *free : "?";
}

bool pc_text_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, n; i < len; i += n) {
		int32_t cp = decode(p + i, len - i, &n);
		if (cp < 0 || needs_escape(cp))
			return false;
	}
	return true;
}

char *pc_text_escape(const char *s, size_t len)
{
	/* the longest escape, \uNNNN, is 6 bytes for at least 2 bytes of
	 * input; \xNN 4 for 1 */
	char *out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	for (size_t i = 0, n; i < len; i += n) {
		int32_t cp = decode(p + i, len - i, &n);
		if (cp < 0) {
			n = 1;
			o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
		} else if (!needs_escape(cp)) {
			memcpy(out + o, p + i, n);
			o += n;
		} else if (cp == '\\') {
			o += (size_t)sprintf(out + o, "\\\\");
		} else if (cp == '\n') {
			o += (size_t)sprintf(out + o, "\\n");
		} else if (cp == '\r') {
			o += (size_t)sprintf(out + o, "\\r");
		} else if (cp == '\t') {
			o += (size_t)sprintf(out + o, "\\t");
		} else if (cp < 0x80) {
			o += (size_t)sprintf(out + o, "\\x%02x", (unsigned)cp);
		} else {
			o += (size_t)sprintf(out + o, "\\u%04x", (unsigned)cp);
		}
	}
	out[o] = 0;
	return out;
}

size_t pc_text_prefix(const char *s, size_t maxcols, size_t *cols)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, c = 0, n;
	while (i < len && c < maxcols) {
		if (decode(p + i, len - i, &n) < 0)
			n = 1;
		i += n;
		c++;
	}
	*cols = c;
	return i;
}
