/* test_cidr.c: unit tests for CIDR parsing, host-bit suggestions, formatting and address matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/cidr.h"

struct parse_case {
	const char *text;
	enum cidr_status status;
	const char *canonical; /* CIDR_OK: the network; CIDR_HOST_BITS_SET: the suggestion; else NULL */
};

static const struct parse_case parse_cases[] = {
	/* IPv4 */
	{ "10.0.0.0/8", CIDR_OK, "10.0.0.0/8" },
	{ "192.168.1.0/24", CIDR_OK, "192.168.1.0/24" },
	{ "  203.0.113.0/24\t\r\n", CIDR_OK, "203.0.113.0/24" },
	{ "\v\f198.51.100.0/24 ", CIDR_OK, "198.51.100.0/24" },
	{ "192.0.2.1", CIDR_OK, "192.0.2.1/32" },
	{ "192.0.2.1/32", CIDR_OK, "192.0.2.1/32" },
	{ "0.0.0.0/0", CIDR_OK, "0.0.0.0/0" },
	{ "0.0.0.0", CIDR_OK, "0.0.0.0/32" },
	{ "255.255.255.255/32", CIDR_OK, "255.255.255.255/32" },
	{ "128.0.0.0/1", CIDR_OK, "128.0.0.0/1" },
	{ "192.0.2.254/31", CIDR_OK, "192.0.2.254/31" },
	{ "10.128.0.0/9", CIDR_OK, "10.128.0.0/9" },
	/* IPv4 with host bits set */
	{ "10.1.2.3/8", CIDR_HOST_BITS_SET, "10.0.0.0/8" },
	{ "1.2.3.4/0", CIDR_HOST_BITS_SET, "0.0.0.0/0" },
	{ "10.0.0.0/0", CIDR_HOST_BITS_SET, "0.0.0.0/0" },
	{ "192.0.2.255/31", CIDR_HOST_BITS_SET, "192.0.2.254/31" },
	{ "172.31.255.255/12", CIDR_HOST_BITS_SET, "172.16.0.0/12" },
	{ "255.255.255.255/1", CIDR_HOST_BITS_SET, "128.0.0.0/1" },
	{ "192.168.1.77/24", CIDR_HOST_BITS_SET, "192.168.1.0/24" },
	{ " 10.255.0.1/9 ", CIDR_HOST_BITS_SET, "10.128.0.0/9" },
	/* IPv6 */
	{ "2001:db8::/32", CIDR_OK, "2001:db8::/32" },
	{ "2001:DB8::/32", CIDR_OK, "2001:db8::/32" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0000/32", CIDR_OK, "2001:db8::/32" },
	{ "::/0", CIDR_OK, "::/0" },
	{ "::", CIDR_OK, "::/128" },
	{ "::1", CIDR_OK, "::1/128" },
	{ "8000::/1", CIDR_OK, "8000::/1" },
	{ "2001:db8::/127", CIDR_OK, "2001:db8::/127" },
	{ "2001:db8:0:0:1:0:0:1/128", CIDR_OK, "2001:db8::1:0:0:1/128" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", CIDR_OK, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	{ "64:ff9b::192.0.2.1", CIDR_OK, "64:ff9b::c000:201/128" },
	{ "2001:db8::8000:0:0:0/65", CIDR_OK, "2001:db8:0:0:8000::/65" },
	/* IPv6 with host bits set */
	{ "fe80::1/10", CIDR_HOST_BITS_SET, "fe80::/10" },
	{ "2001:db8::1/64", CIDR_HOST_BITS_SET, "2001:db8::/64" },
	{ "2001:db8::ffff/127", CIDR_HOST_BITS_SET, "2001:db8::fffe/127" },
	{ "::1/0", CIDR_HOST_BITS_SET, "::/0" },
	{ "ffff::/1", CIDR_HOST_BITS_SET, "8000::/1" },
	{ "2001:db8:1234::/32", CIDR_HOST_BITS_SET, "2001:db8::/32" },
	/* IPv4-mapped IPv6: treated as IPv4 from /96 on */
	{ "::ffff:10.0.0.0/104", CIDR_OK, "10.0.0.0/8" },
	{ "::ffff:10.1.2.3/104", CIDR_HOST_BITS_SET, "10.0.0.0/8" },
	{ "::ffff:192.0.2.1", CIDR_OK, "192.0.2.1/32" },
	{ "::FFFF:c000:0201", CIDR_OK, "192.0.2.1/32" },
	{ "0:0:0:0:0:ffff:192.0.2.1/128", CIDR_OK, "192.0.2.1/32" },
	{ "::ffff:0.0.0.0/96", CIDR_OK, "0.0.0.0/0" },
	{ "::ffff:1.2.3.4/96", CIDR_HOST_BITS_SET, "0.0.0.0/0" },
	{ "::ffff:192.0.2.255/127", CIDR_HOST_BITS_SET, "192.0.2.254/31" },
	/* shorter than /96 it is an IPv6 network whose ffff bits are host bits */
	{ "::ffff:10.0.0.0/95", CIDR_HOST_BITS_SET, "::fffe:0:0/95" },
	{ "::ffff:10.0.0.0/80", CIDR_HOST_BITS_SET, "::/80" },
	/* IPv4-compatible (deprecated) is not mapped; it stays IPv6 */
	{ "::10.0.0.1", CIDR_OK, "::10.0.0.1/128" },
	/* empty */
	{ "", CIDR_EMPTY, NULL },
	{ "   ", CIDR_EMPTY, NULL },
	{ "\t\r\n\v\f ", CIDR_EMPTY, NULL },
	/* bad prefixes */
	{ "10.0.0.0/", CIDR_INVALID, NULL },
	{ "10.0.0.0/+8", CIDR_INVALID, NULL },
	{ "10.0.0.0/-8", CIDR_INVALID, NULL },
	{ "10.0.0.0/08", CIDR_INVALID, NULL },
	{ "10.0.0.0/008", CIDR_INVALID, NULL },
	{ "0.0.0.0/00", CIDR_INVALID, NULL },
	{ "::/00", CIDR_INVALID, NULL },
	{ "10.0.0.0/33", CIDR_INVALID, NULL },
	{ "10.0.0.0/4294967304", CIDR_INVALID, NULL },
	{ "10.0.0.0/0x8", CIDR_INVALID, NULL },
	{ "10.0.0.0/8a", CIDR_INVALID, NULL },
	{ "10.0.0.0/1e1", CIDR_INVALID, NULL },
	{ "10.0.0.0/ 8", CIDR_INVALID, NULL },
	{ "10.0.0.0 /8", CIDR_INVALID, NULL },
	{ "10.0.0.0/8/8", CIDR_INVALID, NULL },
	{ "10.0.0.0//8", CIDR_INVALID, NULL },
	{ "/8", CIDR_INVALID, NULL },
	{ "/", CIDR_INVALID, NULL },
	{ "2001:db8::/129", CIDR_INVALID, NULL },
	{ "2001:db8::/1000", CIDR_INVALID, NULL },
	{ "::ffff:10.0.0.0/200", CIDR_INVALID, NULL },
	/* bad addresses */
	{ "10.0.0/8", CIDR_INVALID, NULL },
	{ "10.0.0.0.0", CIDR_INVALID, NULL },
	{ "256.0.0.0", CIDR_INVALID, NULL },
	{ "010.0.0.0/8", CIDR_INVALID, NULL },
	{ "10.0.0.00", CIDR_INVALID, NULL },
	{ "10.00.0.0/16", CIDR_INVALID, NULL },
	{ "::ffff:010.0.0.1", CIDR_INVALID, NULL },
	{ "1.2.3.4.", CIDR_INVALID, NULL },
	{ ".1.2.3.4", CIDR_INVALID, NULL },
	{ "1..2.3", CIDR_INVALID, NULL },
	{ "0x0a.0.0.0/8", CIDR_INVALID, NULL },
	{ "10", CIDR_INVALID, NULL },
	{ "167772160", CIDR_INVALID, NULL },
	{ "fe80::1%eth0", CIDR_INVALID, NULL },
	{ "fe80::1%eth0/64", CIDR_INVALID, NULL },
	{ "fe80::1%25eth0", CIDR_INVALID, NULL },
	{ "fe80::/10%eth0", CIDR_INVALID, NULL },
	{ "2001:db8:::/48", CIDR_INVALID, NULL },
	{ ":::/0", CIDR_INVALID, NULL },
	{ "2001:db8::g", CIDR_INVALID, NULL },
	{ "1:2:3:4:5:6:7:8:9", CIDR_INVALID, NULL },
	{ "12345::", CIDR_INVALID, NULL },
	{ "1::2::3", CIDR_INVALID, NULL },
	{ "[::1]", CIDR_INVALID, NULL },
	{ "[2001:db8::]/32", CIDR_INVALID, NULL },
	{ "localhost", CIDR_INVALID, NULL },
	{ "example.com/24", CIDR_INVALID, NULL },
	{ "1.2.3.4 5.6.7.8", CIDR_INVALID, NULL },
	{ "10.0.0.0\x01", CIDR_INVALID, NULL },
	{ "\xff\xfe", CIDR_INVALID, NULL },
	{ "\xd9\xa3.0.0.0", CIDR_INVALID, NULL }, /* Arabic-Indic digit three */
	{ "10.0.0.0/\xd9\xa8", CIDR_INVALID, NULL },
	{ "\xc2\xa0" "10.0.0.0/8", CIDR_INVALID, NULL }, /* no-break space is not ASCII white space */
};

static void test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cidr network, suggestion;
		memset(&network, 0xaa, sizeof network);
		memset(&suggestion, 0xaa, sizeof suggestion);
		enum cidr_status status = cidr_parse(c->text, &network, &suggestion);
		if (status != c->status)
			fail_msg("\"%s\": status %d, expected %d", c->text, (int)status, (int)c->status);
		char text[CIDR_TEXT_MAX];
		if (status == CIDR_OK) {
			cidr_format(&network, text);
			if (strcmp(text, c->canonical) != 0)
				fail_msg("\"%s\": formatted \"%s\", expected \"%s\"", c->text, text, c->canonical);
		} else if (status == CIDR_HOST_BITS_SET) {
			cidr_format(&suggestion, text);
			if (strcmp(text, c->canonical) != 0)
				fail_msg("\"%s\": suggested \"%s\", expected \"%s\"", c->text, text, c->canonical);
		}
		/* Without places to write to, the answer is the same. */
		assert_int_equal(cidr_parse(c->text, NULL, NULL), c->status);
	}
}

/* Every canonical form and every suggestion parses back to itself. */
static void test_canonical_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
		const struct parse_case *c = &parse_cases[i];
		if (c->canonical == NULL)
			continue;
		struct cidr network, again;
		if (cidr_parse(c->canonical, &network, NULL) != CIDR_OK)
			fail_msg("canonical \"%s\" does not parse", c->canonical);
		char text[CIDR_TEXT_MAX];
		cidr_format(&network, text);
		assert_string_equal(text, c->canonical);
		assert_int_equal(cidr_parse(text, &again, NULL), CIDR_OK);
		assert_memory_equal(&network, &again, sizeof network);
	}
}

static void test_parse_fields(void **state)
{
	(void)state;
	struct cidr network, suggestion;
	assert_int_equal(cidr_parse("10.20.0.0/16", &network, NULL), CIDR_OK);
	assert_int_equal(network.family, 4);
	assert_int_equal(network.prefix, 16);
	static const uint8_t ten_twenty[16] = { 10, 20 };
	assert_memory_equal(network.address, ten_twenty, 16);

	/* A mapped network is stored exactly as the IPv4 one would be. */
	struct cidr plain;
	assert_int_equal(cidr_parse("::ffff:10.20.0.0/112", &network, NULL), CIDR_OK);
	assert_int_equal(cidr_parse("10.20.0.0/16", &plain, NULL), CIDR_OK);
	assert_memory_equal(&network, &plain, sizeof network);

	assert_int_equal(cidr_parse("2001:db8::/32", &network, NULL), CIDR_OK);
	assert_int_equal(network.family, 6);
	assert_int_equal(network.prefix, 32);
	static const uint8_t documentation[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	assert_memory_equal(network.address, documentation, 16);

	/* On host bits set, *out is left zeroed and *suggestion is the masked network. */
	assert_int_equal(cidr_parse("10.20.30.40/16", &network, &suggestion), CIDR_HOST_BITS_SET);
	assert_int_equal(network.family, 0);
	assert_int_equal(suggestion.family, 4);
	assert_int_equal(suggestion.prefix, 16);
	assert_memory_equal(suggestion.address, ten_twenty, 16);

	assert_int_equal(cidr_parse(NULL, &network, &suggestion), CIDR_EMPTY);
}

static void test_length_limit(void **state)
{
	(void)state;
	char text[256];
	/* 100 bytes with the padding: fine; 101: refused. */
	snprintf(text, sizeof text, "%-100s", "10.0.0.0/8");
	assert_int_equal(strlen(text), 100);
	assert_int_equal(cidr_parse(text, NULL, NULL), CIDR_OK);
	snprintf(text, sizeof text, "%-101s", "10.0.0.0/8");
	assert_int_equal(cidr_parse(text, NULL, NULL), CIDR_INVALID);
	snprintf(text, sizeof text, "%100s", "2001:db8::/32");
	assert_int_equal(cidr_parse(text, NULL, NULL), CIDR_OK);
	memset(text, '1', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	assert_int_equal(cidr_parse(text, NULL, NULL), CIDR_INVALID);

	struct cidr address;
	snprintf(text, sizeof text, "%-101s", "192.0.2.1");
	assert_false(cidr_parse_address(text, &address));
}

static void test_format(void **state)
{
	(void)state;
	char text[CIDR_TEXT_MAX];
	/* The widest IPv6 text fits CIDR_TEXT_MAX. */
	struct cidr wide = { .family = 6, .prefix = 128 };
	memset(wide.address, 0xff, sizeof wide.address);
	cidr_format(&wide, text);
	assert_string_equal(text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	struct cidr host = { .family = 4, .address = { 192, 0, 2, 1 }, .prefix = 32 };
	cidr_format(&host, text);
	assert_string_equal(text, "192.0.2.1/32");
	struct cidr broken = { .family = 5 };
	cidr_format(&broken, text);
	assert_string_equal(text, "");
}

struct address_case {
	const char *text;
	bool ok;
	const char *canonical;
};

static const struct address_case address_cases[] = {
	{ "192.0.2.1", true, "192.0.2.1/32" },
	{ " 192.0.2.1\n", true, "192.0.2.1/32" },
	{ "0.0.0.0", true, "0.0.0.0/32" },
	{ "::ffff:192.0.2.1", true, "192.0.2.1/32" },
	{ "::FFFF:C000:201", true, "192.0.2.1/32" },
	{ "2001:db8::1", true, "2001:db8::1/128" },
	{ "::1", true, "::1/128" },
	{ "::", true, "::/128" },
	{ "192.0.2.1/32", false, NULL },
	{ "2001:db8::1/128", false, NULL },
	{ "fe80::1%eth0", false, NULL },
	{ "fe80::1%1", false, NULL },
	{ "", false, NULL },
	{ "  ", false, NULL },
	{ "unknown", false, NULL },
	{ "192.0.2.1:8080", false, NULL },
	{ "[2001:db8::1]", false, NULL },
	{ "[2001:db8::1]:443", false, NULL },
	{ "192.000.2.1", false, NULL },
	{ "192.0.2", false, NULL },
	{ "192.0.2.1, 10.0.0.1", false, NULL },
};

static void test_parse_address(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof address_cases / sizeof address_cases[0]; i++) {
		const struct address_case *c = &address_cases[i];
		struct cidr address;
		memset(&address, 0xaa, sizeof address);
		bool ok = cidr_parse_address(c->text, &address);
		if (ok != c->ok)
			fail_msg("\"%s\": %s, expected %s", c->text, ok ? "accepted" : "refused", c->ok ? "accepted" : "refused");
		if (ok) {
			char text[CIDR_TEXT_MAX];
			cidr_format(&address, text);
			if (strcmp(text, c->canonical) != 0)
				fail_msg("\"%s\": formatted \"%s\", expected \"%s\"", c->text, text, c->canonical);
		} else {
			assert_int_equal(address.family, 0);
		}
	}
	struct cidr address;
	assert_false(cidr_parse_address(NULL, &address));
}

struct contains_case {
	const char *network;
	const char *address;
	bool inside;
};

static const struct contains_case contains_cases[] = {
	/* /0 */
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::ffff:203.0.113.9", true },
	{ "0.0.0.0/0", "::", false },
	{ "0.0.0.0/0", "::1", false },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "::", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "203.0.113.9", false },
	{ "::/0", "::ffff:203.0.113.9", false }, /* mapped means IPv4 */
	/* /1 */
	{ "128.0.0.0/1", "128.0.0.0", true },
	{ "128.0.0.0/1", "255.255.255.255", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "128.0.0.0/1", "0.0.0.0", false },
	{ "0.0.0.0/1", "127.255.255.255", true },
	{ "0.0.0.0/1", "128.0.0.0", false },
	{ "8000::/1", "8000::", true },
	{ "8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/1", "8000::", false },
	/* /8, /9, /24 edges */
	{ "10.0.0.0/8", "10.0.0.0", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.128.0.0/9", "10.255.0.0", true },
	{ "10.128.0.0/9", "10.127.255.255", false },
	{ "203.0.113.0/24", "203.0.113.255", true },
	{ "203.0.113.0/24", "203.0.114.0", false },
	{ "203.0.113.0/24", "203.0.112.255", false },
	/* /31 */
	{ "192.0.2.254/31", "192.0.2.254", true },
	{ "192.0.2.254/31", "192.0.2.255", true },
	{ "192.0.2.254/31", "192.0.2.253", false },
	{ "192.0.2.254/31", "192.0.3.0", false },
	/* /32 */
	{ "192.0.2.1/32", "192.0.2.1", true },
	{ "192.0.2.1", "192.0.2.1", true },
	{ "192.0.2.1/32", "::ffff:192.0.2.1", true },
	{ "192.0.2.1/32", "192.0.2.0", false },
	{ "192.0.2.1/32", "192.0.2.2", false },
	{ "192.0.2.1/32", "::c000:201", false }, /* IPv4-compatible is IPv6 */
	/* /65 */
	{ "2001:db8::8000:0:0:0/65", "2001:db8::ffff:ffff:ffff:ffff", true },
	{ "2001:db8::8000:0:0:0/65", "2001:db8::7fff:ffff:ffff:ffff", false },
	/* /127 */
	{ "2001:db8::/127", "2001:db8::", true },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
	{ "2001:db8::/127", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
	/* /128 */
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::", false },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "::1", "::1", true },
	{ "::1", "127.0.0.1", false },
	/* a mapped network matches IPv4 and mapped client addresses */
	{ "::ffff:10.0.0.0/104", "10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.255.255.255", true },
	{ "::ffff:10.0.0.0/104", "11.0.0.0", false },
	/* an IPv4 network never matches an IPv6 address, whatever the bytes */
	{ "10.0.0.0/8", "a00::", false },
	{ "10.0.0.0/8", "::a00:1", false },
	/* an IPv6 network shorter than /96 never matches a mapped client address */
	{ "::/80", "::ffff:10.0.0.1", false },
	{ "::/96", "::10.0.0.1", true },
	{ "::/96", "10.0.0.1", false },
};

static void test_contains_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof contains_cases / sizeof contains_cases[0]; i++) {
		const struct contains_case *c = &contains_cases[i];
		struct cidr network, address;
		if (cidr_parse(c->network, &network, NULL) != CIDR_OK)
			fail_msg("network \"%s\" does not parse", c->network);
		if (!cidr_parse_address(c->address, &address))
			fail_msg("address \"%s\" does not parse", c->address);
		if (cidr_contains(&network, &address) != c->inside)
			fail_msg("\"%s\" %s \"%s\"", c->network, c->inside ? "should hold" : "should not hold", c->address);
	}
}

static void test_contains_odd_arguments(void **state)
{
	(void)state;
	struct cidr network, address;
	assert_int_equal(cidr_parse("10.0.0.0/8", &network, NULL), CIDR_OK);
	assert_true(cidr_parse_address("10.0.0.1", &address));
	assert_false(cidr_contains(NULL, &address));
	assert_false(cidr_contains(&network, NULL));

	/* A network inside a network counts as contained; a wider one does not. */
	struct cidr inner, outer;
	assert_int_equal(cidr_parse("10.1.0.0/16", &inner, NULL), CIDR_OK);
	assert_true(cidr_contains(&network, &inner));
	assert_false(cidr_contains(&inner, &network));
	assert_int_equal(cidr_parse("0.0.0.0/0", &outer, NULL), CIDR_OK);
	assert_false(cidr_contains(&network, &outer));

	/* Structs not made by the parsers contain nothing. */
	struct cidr bad = network;
	bad.family = 5;
	assert_false(cidr_contains(&bad, &address));
	bad = network;
	bad.prefix = 33;
	assert_false(cidr_contains(&bad, &address));
	struct cidr bad_address = address;
	bad_address.prefix = 200;
	assert_false(cidr_contains(&network, &bad_address));
}

static void test_status_messages(void **state)
{
	(void)state;
	enum cidr_status all[] = { CIDR_OK, CIDR_EMPTY, CIDR_INVALID, CIDR_HOST_BITS_SET };
	size_t count = sizeof all / sizeof all[0];
	for (size_t i = 0; i < count; i++) {
		assert_non_null(cidr_status_message(all[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(cidr_status_message(all[i]), cidr_status_message(all[j]));
	}
	assert_string_equal(cidr_status_message(CIDR_INVALID), "Not an IPv4 or IPv6 network");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_canonical_round_trip),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_contains_table),
		cmocka_unit_test(test_contains_odd_arguments),
		cmocka_unit_test(test_status_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
