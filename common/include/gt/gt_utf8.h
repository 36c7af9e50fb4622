/* gt_utf8.h - strict UTF-8 (RFC 3629 / Unicode table 3-7) for every string that enters a
 * service.
 *
 * proto3 `string` fields must hold valid UTF-8, and conformant protobuf libraries (Python's,
 * Go's, Java's) refuse to decode a message whose strings are not; protobuf-c does not check.
 * A service that stores or echoes such bytes poisons every client that reads them back, so
 * strings are validated where they come in:
 *   - the RPC server checks every string field of every request payload (gt_utf8_check_pb)
 *     and the envelope's method name, and sanitizes RpcResponse.message (gt_utf8_sanitize);
 *   - readers of fields that protobuf-c does not unpack (the broker's raw Message bytes) call
 *     gt_utf8_valid themselves (gt_mqmsg_validate).
 * Strict: no overlong forms, no surrogates (U+D800..U+DFFF), nothing past U+10FFFF, no
 * truncated sequences. U+0000 is valid UTF-8 (gt_utf8_valid accepts it); gt_utf8_check_pb
 * refuses it too, because protobuf-c hands strings to C code NUL-terminated and "a\0b" would
 * silently become "a". Pure functions; any thread. */
#ifndef GT_UTF8_H
#define GT_UTF8_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

/* True when the n bytes at s are strict UTF-8 (n = 0: true; s may then be NULL). */
bool gt_utf8_valid(const void *s, size_t n);

/* Length of the longest prefix of s that is strict UTF-8 (whole characters only). */
size_t gt_utf8_valid_prefix(const void *s, size_t n);

/* Copies the n bytes at src into dst (cap >= 1 bytes, always NUL-terminated) replacing each
 * invalid sequence (its maximal subpart, as the Unicode standard recommends) and each NUL byte
 * with U+FFFD; never cuts a character in two (output is truncated at a character boundary).
 * Returns the length written (excluding the NUL). dst and src must not overlap. */
size_t gt_utf8_sanitize(char *dst, size_t cap, const void *src, size_t n);

/* Checks every `string` field of the encoded message p[0..n) of type d, in nested messages,
 * repeated fields and maps too: each must be strict UTF-8 without NUL. GT_OK when they all
 * are; GT_EINVAL for a bad string, with why (may be NULL) naming the field, e.g.
 * "field gpu_key of gtpb.v1.TelemetryRecord is not valid UTF-8"; GT_EPROTO when p is not a
 * well-formed encoding (unpack it first to tell the two apart). Messages nested deeper than 64
 * levels are GT_EINVAL. Fields of types other than string and message, and unknown fields, are
 * skipped. */
gt_err gt_utf8_check_pb(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, char *why,
                        size_t why_len);

#endif
