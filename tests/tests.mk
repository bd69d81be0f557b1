# tests/tests.mk — included by the Makefile: test programs and `make check`.
# Unit tests: tests/unit/test_NAME.c → $(BUILD)/tests/unit/test_NAME, linked with the
# agent core (the very code kysod runs), libkyso and cmocka.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkysod-core.a $(BUILD)/libkyso.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIBKYSO_OBJS) \
		$(BUILD)/libkysod-core.a $(PKG_LIBS) -lcmocka -lpthread

.PHONY: check-build tests
tests: all $(UNIT_BINS)
check-build:
	$(MAKE) tests
	$(MAKE) SAN=1 BUILD=build-asan tests

check: deps
	$(MAKE) check-build
	tests/check.sh

# the fault-injecting PKCS#11 module (wraps a real one; see tests/mock/faulty_p11.c)
$(BUILD)/tests/libkyso-faulty.so: tests/mock/faulty_p11.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $(ALL_LDFLAGS) -o $@ $< -ldl -lpthread
tests: $(BUILD)/tests/libkyso-faulty.so

# small independent checkers used by integration tests
$(BUILD)/tests/ed25519_verify: tests/tools/ed25519_verify.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lcrypto
tests: $(BUILD)/tests/ed25519_verify
