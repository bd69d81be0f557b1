# bench/bench.mk — included by the Makefile: the signing benchmark.
#
# `make bench` installs what it needs (packaging/deps.sh), builds kyso and
# $(BUILD)/bench/kyso_bench, and runs bench/run.sh: direct PKCS#11, the agent and p11-kit
# remoting on one SoftHSM token, P-256 and RSA-2048. It measures; it is not a test (its
# exit status does not depend on the targets). Figures: docs/performance.md.
# Then bench/load.sh: the default configuration (audit log on disk) with 1, 8 and up to 16
# clients, a PIN in every request, a batch, kysod's memory and CPU, and the plot
# docs/performance-clients.svg (`make bench-load` runs it alone).
# Then bench/documents.sh: documents per second, one SignDocuments of 1000 against 1000
# Sign calls and direct PKCS#11 (`make bench-documents` runs it alone).
# Then bench/module.sh: kyso-pkcs11.so against p11-kit remoting, as programs load them
# (`make bench-module` runs it alone).
# Then bench/hotplug.sh: token insertion/removal latency through the test module and the
# real card stack, and the wake-ups of idle agents (`make bench-hotplug` runs it alone).
# Then bench/pdf.sh: 100 PDFs signed in one batch, against Java's PDFBox (`make bench-pdf`).
# `make bench-build` only builds the programs.

BENCH_BIN := $(BUILD)/bench/kyso_bench

# linked like the unit tests: the agent core (the p11 layer kysod runs) and libkyso's
# objects (before the archive, whose common/ objects they use)
$(BENCH_BIN): bench/kyso_bench.c bench/bench_paths.c bench/bench.h $(BUILD)/libkysod-core.a $(BUILD)/libkyso.a \
    $(BUILD)/libkyso-p11.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(LIBKYSO_OBJS) \
		$(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a $(PKG_LIBS) -lpthread

# kysod as it was before modules moved to helper processes: the module in the agent's
# own process. Only for the benchmark, which measures what the helper's hop costs.
BENCH_INPROC := $(BUILD)/bench/kysod-inproc
$(BENCH_INPROC): $(BUILD)/obj/agent/kysod.o $(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(PKG_LIBS) -lpthread

# the benchmark's direct loop over kyso's PKCS#11 layer as kysod links it: the module in a
# kyso-p11-helper (found beside the program: a link to the build's)
BENCH_RPC := $(BUILD)/bench/kyso_bench_rpc
$(BENCH_RPC): bench/kyso_bench.c bench/bench_paths.c bench/bench.h $(BUILD)/libkysod-core.a $(BUILD)/libkyso.a \
    $(BUILD)/libkyso-rpc.a $(BUILD)/kyso-p11-helper
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibench $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(LIBKYSO_OBJS) \
		$(BUILD)/libkysod-core.a $(BUILD)/libkyso-rpc.a $(PKG_LIBS) -lpthread
	ln -sf ../kyso-p11-helper $(BUILD)/bench/kyso-p11-helper

.PHONY: bench-build bench-hotplug bench-documents bench-load
bench-build: all $(BENCH_BIN) $(BENCH_INPROC) $(BENCH_RPC) $(BUILD)/tests/libkyso-faulty.so \
	$(if $(CARDEMU_PKG_LIBS),$(BUILD)/tests/cardemu)

# deps first, then a fresh make: the Makefile reads pkg-config when it starts, which on a
# fresh machine is before deps.sh has installed the -dev packages (as `make demo` does)
bench: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/run.sh
	BUILD=$(BUILD) bench/load.sh
	BUILD=$(BUILD) bench/documents.sh
	BUILD=$(BUILD) bench/module.sh
	BUILD=$(BUILD) bench/hotplug.sh
	BUILD=$(BUILD) bench/pdf.sh

# the default configuration under load (bench/load.sh): audit log on disk, 1/8/16 clients,
# PIN in every request, a batch, the plot; alone with `make bench-load`
bench-load: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/load.sh

bench-hotplug: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/hotplug.sh

bench-documents: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/documents.sh

# PDF signing (bench/pdf.sh): kyso sign-pdf against PDFBox + SunPKCS11; alone with
# `make bench-pdf`
.PHONY: bench-pdf
bench-pdf: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/pdf.sh

# bench/module.sh: kyso-pkcs11.so (→ kysod → SoftHSM) against p11-kit-client.so (→ p11-kit
# server → SoftHSM), the same C_SignInit + C_Sign loop in bench/p11mod_bench.c
P11MOD_BENCH := $(BUILD)/bench/p11mod_bench
$(P11MOD_BENCH): bench/p11mod_bench.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -ldl
bench-build: $(P11MOD_BENCH) $(BUILD)/kyso-pkcs11.so

.PHONY: bench-module
bench-module: deps
	$(MAKE) bench-build
	BUILD=$(BUILD) bench/module.sh
