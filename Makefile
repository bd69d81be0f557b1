# kyso — GNU make build. `make` builds into build/; `make check` runs every test (also
# under ASan+UBSan); `make demo` shows the main job on a demo token; `make bench` measures.
# `make SAN=1 BUILD=build-asan` builds the sanitizer variant by hand.

VERSION := 0.1.0
BUILD ?= build
SAN ?= 0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
PKGS := openssl p11-kit-1 jansson libsystemd libusb-1.0 libassuan gpg-error inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libseccomp, for the filter of the helper processes that run PKCS#11 modules
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null)
# libinih, for kysod's configuration files and kyso-admin's provisioning profiles
INIH_CFLAGS := $(shell pkg-config --cflags inih 2>/dev/null)
# where p11-kit finds modules named without a directory ("module: opensc-pkcs11.so")
P11_MODULE_DIR := $(shell pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)
INIH_LIBS := $(shell pkg-config --libs inih 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Werror
HARDEN := -fstack-protector-strong -fstack-clash-protection -fcf-protection \
	-D_FORTIFY_SOURCE=2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC $(WARN) \
	-DKYSO_VERSION='"$(VERSION)"' -DKYSO_P11_MODULE_DIR='"$(P11_MODULE_DIR)"' \
	-DKYSO_HELPER_DIR='"$(LIBEXECDIR)/kyso"' -Icommon -Ipkcs11 -Ip11rpc -Iagent -Iclient \
	$(PKG_CFLAGS) $(INIH_CFLAGS)
LDFLAGS_BASE := -Wl,-z,relro,-z,now -Wl,--as-needed
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS_BASE += -fsanitize=address,undefined
else
CFLAGS_BASE += $(HARDEN)
endif
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_BASE) $(LDFLAGS)

# ---- sources, one per line ----
COMMON_SRCS += common/buf.c
COMMON_SRCS += common/curves.c
COMMON_SRCS += common/encode.c
COMMON_SRCS += common/kyso_err.c
COMMON_SRCS += common/log.c
COMMON_SRCS += common/secret.c
COMMON_SRCS += common/sockpath.c
COMMON_SRCS += common/wire.c

P11_SRCS += pkcs11/p11_admin.c
P11_SRCS += pkcs11/p11_admin_objects.c
P11_SRCS += pkcs11/p11_ckr.c
P11_SRCS += pkcs11/p11_events.c
P11_SRCS += pkcs11/p11_free.c
P11_SRCS += pkcs11/p11_module.c
P11_SRCS += pkcs11/p11_objects.c
P11_SRCS += pkcs11/p11_session.c
P11_SRCS += pkcs11/p11_sign.c
P11_SRCS += pkcs11/p11_uri.c

# what kysod links of pkcs11/: Cryptoki's return values, URIs, freeing descriptions (no
# module is loaded)
P11_PURE_SRCS += pkcs11/p11_ckr.c
P11_PURE_SRCS += pkcs11/p11_free.c
P11_PURE_SRCS += pkcs11/p11_uri.c

# the wire between kysod and kyso-p11-helper (both ends)
RPC_SRCS += p11rpc/rpc_chan.c
RPC_SRCS += p11rpc/rpc_msg.c

# kysod's side: p11.h over helper processes
RPC_CLIENT_SRCS += p11rpc/rpc_call.c
RPC_CLIENT_SRCS += p11rpc/rpc_client.c
RPC_CLIENT_SRCS += p11rpc/rpc_session.c
RPC_CLIENT_SRCS += p11rpc/rpc_spawn.c

# kyso-p11-helper, which runs one vendor module
HELPER_SRCS += p11rpc/kyso_p11_helper.c
HELPER_SRCS += p11rpc/rpc_sandbox.c
HELPER_SRCS += p11rpc/rpc_server.c

AGENT_SRCS += agent/agent.c
AGENT_SRCS += agent/alg.c
AGENT_SRCS += agent/audit.c
AGENT_SRCS += agent/certinfo.c
AGENT_SRCS += agent/config.c
AGENT_SRCS += agent/config_text.c
AGENT_SRCS += agent/conn.c
AGENT_SRCS += agent/dialogs.c
AGENT_SRCS += agent/dispatch.c
AGENT_SRCS += agent/events.c
AGENT_SRCS += agent/inventory.c
AGENT_SRCS += agent/job.c
AGENT_SRCS += agent/jsonmem.c
AGENT_SRCS += agent/listen.c
AGENT_SRCS += agent/logind.c
AGENT_SRCS += agent/logins.c
AGENT_SRCS += agent/methods_modules.c
AGENT_SRCS += agent/methods_service.c
AGENT_SRCS += agent/modwatch.c
AGENT_SRCS += agent/methods_sign.c
AGENT_SRCS += agent/methods_tokens.c
AGENT_SRCS += agent/owner.c
AGENT_SRCS += agent/params.c
AGENT_SRCS += agent/pinentry.c
AGENT_SRCS += agent/pinentry_proc.c
AGENT_SRCS += agent/record.c
AGENT_SRCS += agent/reply.c
AGENT_SRCS += agent/request.c
AGENT_SRCS += agent/token_ops.c
AGENT_SRCS += agent/tokens.c
AGENT_SRCS += agent/usb.c
AGENT_SRCS += agent/worker.c

LIBKYSO_SRCS += client/libkyso.c
LIBKYSO_SRCS += client/libkyso_events.c
LIBKYSO_SRCS += client/libkyso_parse.c

CLI_SRCS += client/kyso.c
CLI_SRCS += client/kyso_cmds.c
CLI_SRCS += client/kyso_cmds_agent.c
CLI_SRCS += client/kyso_cmds_audit.c
CLI_SRCS += client/kyso_output.c

# kyso-admin, the administrators' provisioning tool
ADMIN_SRCS += admin/admin_cmd_cert.c
ADMIN_SRCS += admin/admin_cmd_keys.c
ADMIN_SRCS += admin/admin_cmd_pin.c
ADMIN_SRCS += admin/admin_inventory.c
ADMIN_SRCS += admin/admin_pin.c
ADMIN_SRCS += admin/admin_provision.c
ADMIN_SRCS += admin/admin_pubkey.c
ADMIN_SRCS += admin/admin_token.c
ADMIN_SRCS += admin/kyso_admin.c

# the admin library (libkyso-admin.a): kyso-admin's token-independent OpenSSL logic
# (certificate requests, certificates to import); linked by kyso-admin and the unit tests
ADMIN_LIB_SRCS += admin/certmatch.c
ADMIN_LIB_SRCS += admin/csr.c
ADMIN_LIB_SRCS += admin/csr_names.c

IDL := docs/io.kyso.Agent.varlink docs/org.varlink.service.varlink

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJS := $(call obj,$(COMMON_SRCS))
P11_OBJS := $(call obj,$(P11_SRCS))
P11_PURE_OBJS := $(call obj,$(P11_PURE_SRCS))
RPC_OBJS := $(call obj,$(RPC_SRCS))
RPC_CLIENT_OBJS := $(call obj,$(RPC_CLIENT_SRCS))
HELPER_OBJS := $(call obj,$(HELPER_SRCS))
AGENT_OBJS := $(call obj,$(AGENT_SRCS)) $(BUILD)/obj/idl.o
LIBKYSO_OBJS := $(call obj,$(LIBKYSO_SRCS))
CLI_OBJS := $(call obj,$(CLI_SRCS))
ADMIN_OBJS := $(call obj,$(ADMIN_SRCS))
ADMIN_LIB_OBJS := $(call obj,$(ADMIN_LIB_SRCS))

LIBKYSO_SONAME := libkyso.so.0

PROGRAMS := $(BUILD)/kysod $(BUILD)/kyso-p11-helper $(BUILD)/kyso $(BUILD)/kyso-admin
LIBS := $(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a $(BUILD)/libkyso-rpc.a \
	$(BUILD)/libkyso.a $(BUILD)/libkyso.so $(BUILD)/kyso.pc
UNITS := $(BUILD)/kysod.service

.PHONY: all clean check check-build demo bench deps install lint
all: $(PROGRAMS) $(LIBS) $(UNITS)

-include tests/tests.mk
-include bench/bench.mk

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# the varlink interface descriptions, embedded as C strings
$(BUILD)/idl.c: $(IDL) Makefile
	@mkdir -p $(dir $@)
	{ echo '/* generated from the docs varlink files by the Makefile; do not edit */'; \
	  echo '#include "idl.h"'; \
	  echo 'const char idl_io_kyso_agent[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' docs/io.kyso.Agent.varlink; \
	  echo ';'; \
	  echo 'const char idl_org_varlink_service[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' docs/org.varlink.service.varlink; \
	  echo ';'; } > $@
$(BUILD)/obj/idl.o: $(BUILD)/idl.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# the agent core: everything kysod runs but the PKCS#11 layer, linked by kysod, tests,
# fuzzers and benchmarks; with libkyso-p11.a after it (the module in the same process:
# tests, fuzzers, the benchmark's in-process kysod) or libkyso-rpc.a (kysod: modules in
# helper processes)
$(BUILD)/libkysod-core.a: $(AGENT_OBJS) $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^

# the PKCS#11 layer, in process (and what it uses of common/): kyso-admin,
# kyso-p11-helper, tests
$(BUILD)/libkyso-p11.a: $(P11_OBJS) $(RPC_OBJS) $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^

# the PKCS#11 layer over helper processes: kysod
$(BUILD)/libkyso-rpc.a: $(RPC_CLIENT_OBJS) $(RPC_OBJS) $(P11_PURE_OBJS)
	rm -f $@ && ar rcs $@ $^

# kysod loads no vendor module: each runs in a kyso-p11-helper of its own
$(BUILD)/kyso-p11-helper: $(HELPER_OBJS) $(BUILD)/libkyso-p11.a
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $(HELPER_OBJS) $(BUILD)/libkyso-p11.a \
		$(PKG_LIBS) $(SECCOMP_LIBS) -lpthread

# the admin library; link it before libkysod-core.a (it uses agent/alg.c)
$(BUILD)/libkyso-admin.a: $(ADMIN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/kysod: $(BUILD)/obj/agent/kysod.o $(BUILD)/libkysod-core.a $(BUILD)/libkyso-rpc.a
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(PKG_LIBS) -lpthread

# libkyso: exports only the API (client/libkyso.map)
$(BUILD)/libkyso.a: $(LIBKYSO_OBJS) $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libkyso.so: $(LIBKYSO_OBJS) $(COMMON_OBJS) client/libkyso.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(LIBKYSO_SONAME) \
		-Wl,--version-script=client/libkyso.map -o $@.0 $(LIBKYSO_OBJS) $(COMMON_OBJS) \
		$(shell pkg-config --libs jansson libcrypto)
	ln -sf libkyso.so.0 $@
$(BUILD)/kyso.pc: client/kyso.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/kysod.service: packaging/kysod.service.in Makefile
	sed -e 's|@BINDIR@|$(BINDIR)|' $< > $@

$(BUILD)/kyso: $(CLI_OBJS) $(BUILD)/libkyso.a
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(shell pkg-config --libs jansson libcrypto)

$(BUILD)/kyso-admin: $(ADMIN_OBJS) $(BUILD)/libkyso-admin.a $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso-p11.a
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(PKG_LIBS) $(INIH_LIBS) -lpthread

deps:
	packaging/deps.sh

demo: deps
	$(MAKE) all
	tests/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/kyso \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PREFIX)/lib/systemd/user \
		$(DESTDIR)$(PREFIX)/lib/udev/rules.d
	install -m 755 $(BUILD)/kysod $(BUILD)/kyso $(BUILD)/kyso-admin $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(LIBEXECDIR)/kyso
	install -m 755 $(BUILD)/kyso-p11-helper $(DESTDIR)$(LIBEXECDIR)/kyso/
	install -m 644 $(BUILD)/libkyso.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libkyso.so.0 $(DESTDIR)$(LIBDIR)/
	ln -sf libkyso.so.0 $(DESTDIR)$(LIBDIR)/libkyso.so
	install -m 644 client/kyso.h common/kyso_err.h $(DESTDIR)$(INCLUDEDIR)/kyso/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' client/kyso.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/kyso.pc
	install -m 644 docs/kysod.1 docs/kyso.1 docs/kyso-admin.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(MANDIR)/man5
	install -m 644 docs/kysod.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|@BINDIR@|$(BINDIR)|' packaging/kysod.service.in \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/user/kysod.service
	install -m 644 packaging/kysod.socket $(DESTDIR)$(PREFIX)/lib/systemd/user/
	install -m 644 udev/70-kyso-tokens.rules $(DESTDIR)$(PREFIX)/lib/udev/rules.d/

clean:
	rm -rf build build-asan build-fuzz build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
