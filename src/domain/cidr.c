/* cidr.c: IPv4 and IPv6 CIDR networks: strict parsing with inet_pton, host-bit checks, formatting, matching. */
#include "domain/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Longest input looked at, surrounding spaces included. */
#define CIDR_INPUT_MAX 100

static const uint8_t cidr_mapped_head[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool cidr_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Bits in an address of `family` (4 or 6); 0 for anything else. */
static unsigned cidr_family_bits(int family)
{
	return family == 4 ? 32 : family == 6 ? 128 : 0;
}

/*
 * Copy `text` without surrounding ASCII white space into buffer (NUL-terminated).
 * Returns false when `text` is longer than CIDR_INPUT_MAX bytes, spaces included.
 */
static bool cidr_trim_copy(const char *text, char buffer[CIDR_INPUT_MAX + 1])
{
	size_t length = strnlen(text, CIDR_INPUT_MAX + 1);
	if (length > CIDR_INPUT_MAX)
		return false;
	size_t start = 0;
	while (start < length && cidr_is_space((unsigned char)text[start]))
		start++;
	while (length > start && cidr_is_space((unsigned char)text[length - 1]))
		length--;
	memcpy(buffer, text + start, length - start);
	buffer[length - start] = '\0';
	return true;
}

/*
 * True when no dot-separated part of `dotted` starts with a '0' followed by more characters
 * ("010" could be read as octal elsewhere). inet_pton checks everything else about the quad.
 */
static bool cidr_dotted_plain(const char *dotted)
{
	for (const char *part = dotted;; part++) {
		size_t part_length = strcspn(part, ".");
		if (part_length > 1 && part[0] == '0')
			return false;
		part += part_length;
		if (*part == '\0')
			return true;
	}
}

/*
 * Parse a bare address (no prefix, no spaces) into family (4 or 6) and address[16], zero-filled
 * past the address. IPv4-mapped IPv6 stays IPv6 here. Only hex digits, ':' and '.' reach
 * inet_pton for IPv6, so zone IDs ("%eth0") and anything else odd are refused.
 */
static bool cidr_parse_bare(const char *text, int *family, uint8_t address[16])
{
	memset(address, 0, 16);
	if (strchr(text, ':') != NULL) {
		if (text[strspn(text, "0123456789abcdefABCDEF:.")] != '\0')
			return false;
		const char *tail = strrchr(text, ':') + 1;
		if (strchr(tail, '.') != NULL && !cidr_dotted_plain(tail))
			return false;
		if (inet_pton(AF_INET6, text, address) != 1)
			return false;
		*family = 6;
		return true;
	}
	if (text[strspn(text, "0123456789.")] != '\0' || !cidr_dotted_plain(text))
		return false;
	if (inet_pton(AF_INET, text, address) != 1)
		return false;
	*family = 4;
	return true;
}

/* Parse a prefix length: 1 to 3 decimal digits, no sign, no leading zero but "0" itself, at most `max`. */
static bool cidr_parse_prefix(const char *text, unsigned max, unsigned *prefix)
{
	size_t digits = strspn(text, "0123456789");
	if (digits == 0 || digits > 3 || text[digits] != '\0' || (digits > 1 && text[0] == '0'))
		return false;
	unsigned value = 0;
	for (size_t i = 0; i < digits; i++)
		value = value * 10 + (unsigned)(text[i] - '0');
	if (value > max)
		return false;
	*prefix = value;
	return true;
}

/* Turn an IPv4-mapped IPv6 network of prefix 96 or more (::ffff:a.b.c.d/96+n) into IPv4 a.b.c.d/n. */
static void cidr_unmap(struct cidr *cidr)
{
	if (cidr->family != 6 || cidr->prefix < 96 || memcmp(cidr->address, cidr_mapped_head, 12) != 0)
		return;
	memmove(cidr->address, cidr->address + 12, 4);
	memset(cidr->address + 4, 0, 12);
	cidr->family = 4;
	cidr->prefix -= 96;
}

/* Clear every bit of address[16] past the first `prefix` bits. */
static void cidr_mask(uint8_t address[16], unsigned prefix)
{
	for (unsigned byte = 0; byte < 16; byte++) {
		unsigned start = byte * 8;
		if (start >= prefix)
			address[byte] = 0;
		else if (prefix - start < 8)
			address[byte] &= (uint8_t)(0xffu << (8 - (prefix - start)));
	}
}

/*
 * Both *out and *suggestion are zeroed first; *out is filled only on CIDR_OK, *suggestion only on
 * CIDR_HOST_BITS_SET. Text longer than 100 bytes (spaces included) is CIDR_INVALID; NULL text is
 * CIDR_EMPTY. A mapped IPv6 network shorter than /96 stays IPv6 (its ffff bits are host bits).
 */
enum cidr_status cidr_parse(const char *text, struct cidr *out, struct cidr *suggestion)
{
	struct cidr parsed;
	memset(&parsed, 0, sizeof parsed);
	if (out != NULL)
		memset(out, 0, sizeof *out);
	if (suggestion != NULL)
		memset(suggestion, 0, sizeof *suggestion);
	if (text == NULL)
		return CIDR_EMPTY;
	char buffer[CIDR_INPUT_MAX + 1];
	if (!cidr_trim_copy(text, buffer))
		return CIDR_INVALID;
	if (buffer[0] == '\0')
		return CIDR_EMPTY;

	char *slash = strchr(buffer, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!cidr_parse_bare(buffer, &parsed.family, parsed.address))
		return CIDR_INVALID;
	parsed.prefix = cidr_family_bits(parsed.family);
	if (slash != NULL && !cidr_parse_prefix(slash + 1, parsed.prefix, &parsed.prefix))
		return CIDR_INVALID;
	cidr_unmap(&parsed);

	struct cidr network = parsed;
	cidr_mask(network.address, network.prefix);
	if (memcmp(network.address, parsed.address, sizeof parsed.address) != 0) {
		if (suggestion != NULL)
			*suggestion = network;
		return CIDR_HOST_BITS_SET;
	}
	if (out != NULL)
		*out = network;
	return CIDR_OK;
}

/* A cidr that is not family 4 or 6 gives the empty string. */
void cidr_format(const struct cidr *cidr, char text[CIDR_TEXT_MAX])
{
	char address[INET6_ADDRSTRLEN];
	int family = cidr->family == 4 ? AF_INET : cidr->family == 6 ? AF_INET6 : -1;
	if (family < 0 || inet_ntop(family, cidr->address, address, sizeof address) == NULL) {
		text[0] = '\0';
		return;
	}
	snprintf(text, CIDR_TEXT_MAX, "%s/%u", address, cidr->prefix);
}

/*
 * Accepts what cidr_parse() accepts without a prefix, surrounding spaces included; the result is a
 * host route (/32 or /128), IPv4 for mapped addresses. *out is zeroed on failure.
 */
bool cidr_parse_address(const char *text, struct cidr *out)
{
	memset(out, 0, sizeof *out);
	if (text == NULL)
		return false;
	char buffer[CIDR_INPUT_MAX + 1];
	if (!cidr_trim_copy(text, buffer) || !cidr_parse_bare(buffer, &out->family, out->address)) {
		memset(out, 0, sizeof *out);
		return false;
	}
	out->prefix = cidr_family_bits(out->family);
	cidr_unmap(out);
	return true;
}

/*
 * Families must be equal (mapped addresses were already made IPv4 by the parsers), so an IPv4
 * address never lies in an IPv6 network, not even ::/0. An `address` with a prefix of its own
 * is contained when its whole range is. Malformed structs (bad family or prefix) contain nothing.
 */
bool cidr_contains(const struct cidr *network, const struct cidr *address)
{
	if (network == NULL || address == NULL || network->family != address->family)
		return false;
	unsigned bits = cidr_family_bits(network->family);
	if (bits == 0 || network->prefix > bits || address->prefix > bits || address->prefix < network->prefix)
		return false;
	unsigned whole = network->prefix / 8;
	unsigned rest = network->prefix % 8;
	if (memcmp(network->address, address->address, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (network->address[whole] & mask) == (address->address[whole] & mask);
}

const char *cidr_status_message(enum cidr_status status)
{
	switch (status) {
	case CIDR_OK:
		return "A valid network";
	case CIDR_EMPTY:
		return "No network given";
	case CIDR_INVALID:
		return "Not an IPv4 or IPv6 network";
	case CIDR_HOST_BITS_SET:
		return "Bits are set past the network's prefix";
	}
	return "Not an IPv4 or IPv6 network";
}
