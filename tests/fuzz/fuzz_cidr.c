/* fuzz_cidr.c: libFuzzer target for the CIDR parsers: round trips, invariants, containment checked bit by bit. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(bool condition, const char *what, const char *text)
{
	if (!condition) {
		fprintf(stderr, "fuzz_cidr: %s (input \"%s\")\n", what, text);
		abort();
	}
}

static unsigned fuzz_bits(int family)
{
	return family == 4 ? 32 : 128;
}

static int fuzz_bit(const uint8_t address[16], unsigned index)
{
	return (address[index / 8] >> (7 - index % 8)) & 1;
}

/* A struct the parsers may hand out: right family, prefix in range, no bits past the prefix or the family. */
static void fuzz_check_shape(const struct cidr *cidr, const char *text)
{
	fuzz_require(cidr->family == 4 || cidr->family == 6, "bad family", text);
	fuzz_require(cidr->prefix <= fuzz_bits(cidr->family), "prefix out of range", text);
	for (unsigned i = cidr->prefix; i < 128; i++)
		fuzz_require(fuzz_bit(cidr->address, i) == 0, "bit set past the prefix", text);
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	fuzz_require(!(cidr->family == 6 && cidr->prefix >= 96 && memcmp(cidr->address, mapped, 12) == 0),
		     "mapped network left as IPv6", text);
}

/* Formatting then parsing gives the same struct back. */
static void fuzz_check_round_trip(const struct cidr *cidr, const char *text)
{
	char formatted[CIDR_TEXT_MAX];
	memset(formatted, 'x', sizeof formatted);
	cidr_format(cidr, formatted);
	fuzz_require(memchr(formatted, '\0', sizeof formatted) != NULL, "format not terminated", text);
	struct cidr again;
	fuzz_require(cidr_parse(formatted, &again, NULL) == CIDR_OK, "canonical text does not parse", text);
	fuzz_require(memcmp(cidr, &again, sizeof again) == 0, "canonical text parses differently", text);
}

/* Containment worked out one bit at a time. */
static bool fuzz_contains(const struct cidr *network, const struct cidr *address)
{
	if (network->family != address->family || address->prefix < network->prefix)
		return false;
	for (unsigned i = 0; i < network->prefix; i++)
		if (fuzz_bit(network->address, i) != fuzz_bit(address->address, i))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 512)
		return 0;
	char *text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	struct cidr network, suggestion;
	enum cidr_status status = cidr_parse(text, &network, &suggestion);
	size_t length = strlen(text);
	switch (status) {
	case CIDR_OK:
		fuzz_require(length <= 100, "accepted over 100 bytes", text);
		fuzz_require(strpbrk(text, "%+-[]") == NULL, "accepted a stray character", text);
		fuzz_check_shape(&network, text);
		fuzz_check_round_trip(&network, text);
		fuzz_require(cidr_contains(&network, &network), "network does not contain itself", text);
		break;
	case CIDR_HOST_BITS_SET:
		fuzz_require(length <= 100, "accepted over 100 bytes", text);
		fuzz_check_shape(&suggestion, text);
		fuzz_check_round_trip(&suggestion, text);
		break;
	case CIDR_EMPTY:
		fuzz_require(strspn(text, " \t\n\v\f\r") == length, "EMPTY but not blank", text);
		break;
	case CIDR_INVALID:
		break;
	default:
		fuzz_require(false, "status out of range", text);
	}

	struct cidr address;
	if (cidr_parse_address(text, &address)) {
		fuzz_check_shape(&address, text);
		fuzz_require(address.prefix == fuzz_bits(address.family), "address is not a host route", text);
		fuzz_check_round_trip(&address, text);
		struct cidr same;
		fuzz_require(cidr_parse(text, &same, NULL) == CIDR_OK && memcmp(&same, &address, sizeof same) == 0,
			     "address and network parsers disagree", text);
		fuzz_require(cidr_contains(&address, &address), "address does not contain itself", text);
	} else {
		fuzz_require(status != CIDR_OK || strchr(text, '/') != NULL,
			     "network parser took a bare address the address parser refused", text);
	}

	/* "network|address": containment against the bit-by-bit answer. */
	char *bar = strchr(text, '|');
	if (bar != NULL) {
		*bar = '\0';
		struct cidr left, right;
		if (cidr_parse(text, &left, NULL) == CIDR_OK && cidr_parse_address(bar + 1, &right))
			fuzz_require(cidr_contains(&left, &right) == fuzz_contains(&left, &right),
				     "containment disagrees with the bit-by-bit answer", text);
		if (cidr_parse(text, &left, NULL) == CIDR_OK && cidr_parse(bar + 1, &right, NULL) == CIDR_OK)
			fuzz_require(cidr_contains(&left, &right) == fuzz_contains(&left, &right),
				     "network containment disagrees with the bit-by-bit answer", text);
	}
	free(text);
	return 0;
}
