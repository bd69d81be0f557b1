# tests/tests.mk — included by the Makefile: test programs and `make check`.
# Unit tests: tests/unit/test_NAME.c → $(BUILD)/tests/unit/test_NAME, linked with the
# agent core (the very code kysod runs), libkyso, the admin library (admin/) and cmocka.

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkysod-core.a $(BUILD)/libkyso.a \
    $(BUILD)/libkyso-admin.a $(BUILD)/libkyso-p11.a $(BUILD)/libkyso-host.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Iadmin -Ibrowser/host $(ALL_LDFLAGS) -o $@ $< \
		$(LIBKYSO_OBJS) $(BUILD)/libkyso-host.a $(BUILD)/libkyso-admin.a \
		$(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a $(PKG_LIBS) -lcmocka -lpthread

# the audit log's group commit: its fsync wrapped (durability order, a failing disk)
$(BUILD)/tests/unit/test_audit_group: tests/unit/test_audit_group.c $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso.a $(BUILD)/libkyso-admin.a $(BUILD)/libkyso-p11.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Iadmin $(ALL_LDFLAGS) -Wl,--wrap=fdatasync -o $@ $< \
		$(LIBKYSO_OBJS) $(BUILD)/libkyso-admin.a $(BUILD)/libkysod-core.a \
		$(BUILD)/libkyso-p11.a $(PKG_LIBS) -lcmocka -lpthread

# the unit tests of libkyso-pdf (test_pdf_*) link it and the PDF libraries
$(BUILD)/tests/unit/test_pdf_%: tests/unit/test_pdf_%.c $(PDFLIB_OBJS) $(LIBKYSO_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PDF_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< \
		$(PDFLIB_OBJS) $(LIBKYSO_OBJS) $(COMMON_OBJS) $(PDF_LIBS) -lcmocka

.PHONY: check-build tests
tests: all $(UNIT_BINS)
check-build:
	$(MAKE) tests
	$(MAKE) SAN=1 BUILD=build-asan tests
	$(MAKE) SAN=thread BUILD=build-tsan tests

check: deps
	$(MAKE) check-build
	tests/check.sh

# the fault-injecting PKCS#11 module (wraps a real one; see tests/mock/faulty_p11.c)
# (CKR names: tests/tools/ckr_names.c, the test tools' one table)
FAULTY_SRCS := $(wildcard tests/mock/faulty*.c) tests/tools/ckr_names.c
$(BUILD)/tests/libkyso-faulty.so: $(FAULTY_SRCS) $(wildcard tests/mock/faulty*.h) tests/tools/ckr_names.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/tools -fvisibility=hidden -shared $(ALL_LDFLAGS) -o $@ \
		$(FAULTY_SRCS) -ldl -lpthread
tests: $(BUILD)/tests/libkyso-faulty.so

# small independent checkers used by integration tests
$(BUILD)/tests/ed25519_verify: tests/tools/ed25519_verify.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lcrypto
tests: $(BUILD)/tests/ed25519_verify

# fuzzing: tests/fuzz/fuzz_call.c. The smoke build (any compiler, run by `make check` under
# ASan+UBSan through tests/integration/fuzz_smoke.sh) replays the corpus and a fixed set of
# mutations; `make fuzz` runs libFuzzer (clang) for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
$(BUILD)/tests/fuzz_call_smoke: tests/fuzz/fuzz_call.c tests/fuzz/driver.c $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso-p11.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ tests/fuzz/fuzz_call.c tests/fuzz/driver.c \
		$(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a $(PKG_LIBS) -lpthread
tests: $(BUILD)/tests/fuzz_call_smoke

.PHONY: fuzz
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=1 CFLAGS=-fsanitize=fuzzer-no-link \
		build-fuzz/libkysod-core.a build-fuzz/libkyso-p11.a
	clang $(CFLAGS_BASE) -O1 -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz_call \
		tests/fuzz/fuzz_call.c build-fuzz/libkysod-core.a build-fuzz/libkyso-p11.a \
		$(PKG_LIBS) -lpthread
	mkdir -p build-fuzz/corpus && cp -n tests/fuzz/corpus/* build-fuzz/corpus/
	build-fuzz/fuzz_call -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus

# the virtual CAC card for the real-card stack (tests/lib/cardstack.sh): libcacard behind
# vsmartcard's vpcd. Built only where libcacard-dev is installed (packaging/deps.sh test);
# without it the card-stack tests skip.
CARDEMU_PKG_CFLAGS := $(shell pkg-config --cflags libcacard 2>/dev/null)
CARDEMU_PKG_LIBS := $(shell pkg-config --libs libcacard 2>/dev/null)
$(BUILD)/tests/cardemu: tests/cardemu/cardemu.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CARDEMU_PKG_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CARDEMU_PKG_LIBS)
ifneq ($(CARDEMU_PKG_LIBS),)
tests: $(BUILD)/tests/cardemu
endif

# mock_probe: drives the test module step by step (tests/integration/mock_module.sh)
$(BUILD)/tests/mock_probe: tests/tools/mock_probe.c tests/tools/ckr_names.c tests/tools/ckr_names.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ tests/tools/mock_probe.c \
		tests/tools/ckr_names.c -ldl -lpthread
tests: $(BUILD)/tests/mock_probe

# sign_ahead.sh: Sign jobs run by the worker's code on one session, the module in this
# process (ahead_probe) and in a kyso-p11-helper found beside the program (ahead_probe_rpc)
$(BUILD)/tests/ahead_probe: tests/tools/ahead_probe.c $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso-p11.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkysod-core.a \
		$(BUILD)/libkyso-p11.a $(PKG_LIBS) -lpthread
$(BUILD)/tests/ahead_probe_rpc: tests/tools/ahead_probe.c $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso-rpc.a $(BUILD)/kyso-p11-helper
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkysod-core.a \
		$(BUILD)/libkyso-rpc.a $(PKG_LIBS) -lpthread
	ln -sf ../kyso-p11-helper $(BUILD)/tests/kyso-p11-helper
tests: $(BUILD)/tests/ahead_probe $(BUILD)/tests/ahead_probe_rpc

# udev.sh: kysod's verdict on a USB device (usb_probe), and statfs calls that take the
# test's tmpfs on /sys for sysfs so that udevadm test runs the rules on synthetic devices
$(BUILD)/tests/usb_probe: tests/tools/usb_probe.c $(BUILD)/libkysod-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkysod-core.a $(PKG_LIBS) -lpthread
$(BUILD)/tests/libfakesysfs.so: tests/tools/fakesysfs.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize=%,$(ALL_CFLAGS)) -shared -o $@ $< -ldl
tests: $(BUILD)/tests/usb_probe $(BUILD)/tests/libfakesysfs.so

# pdf_softsign: kyso sign-pdf's own code with a software key in place of the agent, for the
# PDF tests that need no token (tests/integration/pdf*.sh)
$(BUILD)/tests/pdf_softsign: tests/tools/pdf_softsign.c \
    $(filter-out $(BUILD)/obj/client/kyso.o,$(CLI_OBJS)) $(PDFLIB_OBJS) $(LIBKYSO_OBJS) \
    $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PDF_LIBS)
tests: $(BUILD)/tests/pdf_softsign

# digests_probe: a batch of digests signed through libkyso's public API (sign_digests.sh)
$(BUILD)/tests/digests_probe: tests/tools/digests_probe.c $(BUILD)/libkyso.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iclient $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libkyso.a \
		$(shell pkg-config --libs jansson libcrypto)
tests: $(BUILD)/tests/digests_probe
