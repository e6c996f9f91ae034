/*
 * cidr.h: IPv4 and IPv6 networks in CIDR notation: parse, check, format, match addresses.
 *
 * Parsing uses inet_pton(). A host address without a prefix means /32 (IPv4) or /128 (IPv6).
 * An entry with host bits set (10.1.2.3/8) is refused, and the network it probably meant
 * (10.0.0.0/8) is offered. IPv4-mapped IPv6 addresses (::ffff:10.1.2.3) are matched as IPv4,
 * both as networks and as client addresses.
 */
#ifndef KEYWARD_DOMAIN_CIDR_H
#define KEYWARD_DOMAIN_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text cidr_format() writes, with the NUL: an IPv6 address, "/128". */
#define CIDR_TEXT_MAX 64

struct cidr {
	int family;           /* 4 or 6 */
	uint8_t address[16];  /* IPv4 uses the first 4 bytes; host bits are always zero */
	unsigned prefix;      /* 0..32 or 0..128 */
};

enum cidr_status {
	CIDR_OK,
	CIDR_EMPTY,          /* nothing but spaces */
	CIDR_INVALID,        /* not an address, or a bad prefix */
	CIDR_HOST_BITS_SET,  /* valid, but bits past the prefix are set; *suggestion holds the network */
};

/*
 * Parse `text` (NUL-terminated, surrounding ASCII white space ignored, at most 100 bytes counting
 * that white space; NULL counts as empty) into *out. Either pointer may be NULL; both are zeroed
 * first, *out is filled only on CIDR_OK, and on CIDR_HOST_BITS_SET *suggestion gets the masked
 * network. A mapped network (::ffff:a.b.c.d/96 and longer) comes back as IPv4. Safe on any input.
 */
enum cidr_status cidr_parse(const char *text, struct cidr *out, struct cidr *suggestion);

/* Canonical text: "10.0.0.0/8", "2001:db8::/32"; host routes keep their prefix ("192.0.2.1/32"). */
void cidr_format(const struct cidr *cidr, char text[CIDR_TEXT_MAX]);

/*
 * Parse a client address as found in REMOTE_ADDR (no prefix, no zone ID) into a host route
 * (/32 or /128; a mapped ::ffff:a.b.c.d becomes IPv4). Returns false, *out zeroed, on garbage.
 */
bool cidr_parse_address(const char *text, struct cidr *out);

/*
 * True when `address` (as made by cidr_parse_address) lies inside `network`. Families must match:
 * an IPv4 address is never inside an IPv6 network, not even ::/0.
 */
bool cidr_contains(const struct cidr *network, const struct cidr *address);

/* A short human sentence for a status, e.g. "Not an IPv4 or IPv6 network". */
const char *cidr_status_message(enum cidr_status status);

#endif
