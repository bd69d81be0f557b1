# kyso — GNU make build. `make` builds into build/; `make check` runs every test (also
# under ASan+UBSan); `make demo` shows the main job on a demo token; `make bench` measures.
# `make SAN=1 BUILD=build-asan` builds the sanitizer variant by hand (SAN=thread BUILD=build-tsan:
# ThreadSanitizer, which `make check` runs on the threaded parts: tests/tsan.sh). `make dist` makes
# the source tarball; `make install` installs (PREFIX, DESTDIR and the directories below).
# CPPFLAGS, CFLAGS and LDFLAGS given to make (dpkg-buildflags' in the Debian build) come
# after the project's own, which they cannot drop; WERROR=0 builds without -Werror (the
# package builds: a new compiler's new warning must not break them).

VERSION := 0.1.0
BUILD ?= build
SAN ?= 0
WERROR ?= 1
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
# kysod reads /etc/kyso/kysod.conf wherever it is installed, and autostart entries are
# read from /etc/xdg/autostart: /etc, not $(PREFIX)/etc
SYSCONFDIR ?= /etc
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
UDEVDIR ?= $(PREFIX)/lib/udev
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# the translations' catalogs (LOCALEDIR/LANG/LC_MESSAGES/kyso.mo); the programs look there,
# or in $KYSO_LOCALEDIR (the tests: $(BUILD)/locale)
LOCALEDIR ?= $(DATADIR)/locale
# where browsers look for native-messaging host manifests (system-wide; not below PREFIX:
# the browsers look only here)
CHROMIUM_NM_DIR ?= /etc/chromium/native-messaging-hosts
CHROME_NM_DIR ?= /etc/opt/chrome/native-messaging-hosts
FIREFOX_NM_DIR ?= /usr/lib/mozilla/native-messaging-hosts
DESTDIR ?=

CC ?= cc
LD ?= ld
OBJCOPY ?= objcopy
PKGS := openssl p11-kit-1 jansson libsystemd libusb-1.0 libassuan gpg-error inih
# libkyso-pdf: PDF signatures, time stamps and verification (qpdf, cairo+pango, libcurl)
PDF_PKGS := libqpdf libcurl pangocairo cairo-pdf openssl jansson

# Before anything is compiled: every package the build needs, or one message that says
# which are missing and how to install them (not "jansson.h: No such file or directory")
NODEPS_GOALS := deps check demo bench bench-hotplug bench-module clean dist help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
NEED_PKGS := $(PKGS) $(PDF_PKGS) libseccomp $(if $(filter tests check-build bench-build test_%,$(MAKECMDGOALS)),cmocka)
PKG_MISSING := $(strip $(shell command -v $(firstword $(CC)) >/dev/null 2>&1 || \
	echo "$(firstword $(CC))"; command -v msgfmt >/dev/null 2>&1 || echo gettext; \
	if command -v pkg-config >/dev/null 2>&1; then \
	for p in $(NEED_PKGS); do pkg-config --exists $$p || echo $$p; done; \
	else echo pkg-config; fi))
ifneq ($(PKG_MISSING),)
$(error kyso cannot be built here: missing $(PKG_MISSING) (a compiler, pkg-config or \
development packages). On Debian 12, install what the build needs with \
'sudo packaging/deps.sh build' (or everything the tests need too: \
'sudo packaging/deps.sh'); packaging/deps.sh lists the packages)
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libseccomp, for the filter of the helper processes that run PKCS#11 modules
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null)
# libinih, for kysod's configuration files and kyso-admin's provisioning profiles
INIH_CFLAGS := $(shell pkg-config --cflags inih 2>/dev/null)
# where p11-kit finds modules named without a directory ("module: opensc-pkcs11.so")
P11_MODULE_DIR := $(shell pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)
INIH_LIBS := $(shell pkg-config --libs inih 2>/dev/null)
PDF_CFLAGS := $(shell pkg-config --cflags $(PDF_PKGS) 2>/dev/null)
PDF_LIBS := $(shell pkg-config --libs $(PDF_PKGS) 2>/dev/null) -lm

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
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
else ifeq ($(SAN),thread)
CFLAGS_BASE += -O1 -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS_BASE += -fsanitize=thread
else
CFLAGS_BASE += $(HARDEN)
endif
# the caller's flags last: they may add (-O0 -g3, a sanitizer) but cannot drop the
# hardening; the warnings are repeated after them (dpkg-buildflags' -Wformat would
# otherwise lower -Wformat=2)
ALL_CFLAGS := $(CFLAGS_BASE) $(CPPFLAGS) $(CFLAGS) $(if $(CFLAGS)$(CPPFLAGS),$(WARN))
ALL_LDFLAGS := $(LDFLAGS_BASE) $(LDFLAGS)

# ---- sources, one per line ----
COMMON_SRCS += common/buf.c
COMMON_SRCS += common/curves.c
COMMON_SRCS += common/encode.c
COMMON_SRCS += common/fdnum.c
COMMON_SRCS += common/i18n.c
COMMON_SRCS += common/kyso_err.c
COMMON_SRCS += common/log.c
COMMON_SRCS += common/origin.c
COMMON_SRCS += common/procinfo.c
COMMON_SRCS += common/rfc3339.c
COMMON_SRCS += common/cpuload.c
COMMON_SRCS += common/secret.c
COMMON_SRCS += common/sockpath.c
COMMON_SRCS += common/wire.c
COMMON_SRCS += common/xdg.c

P11_SRCS += pkcs11/p11_admin.c
P11_SRCS += pkcs11/p11_admin_objects.c
P11_SRCS += pkcs11/p11_ckr.c
P11_SRCS += pkcs11/p11_events.c
P11_SRCS += pkcs11/p11_free.c
P11_SRCS += pkcs11/p11_loopguard.c
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
RPC_CLIENT_SRCS += p11rpc/rpc_loopguard.c
RPC_CLIENT_SRCS += p11rpc/rpc_session.c
RPC_CLIENT_SRCS += p11rpc/rpc_spawn.c

# kyso-p11-helper, which runs one vendor module
HELPER_SRCS += p11rpc/kyso_p11_helper.c
HELPER_SRCS += p11rpc/rpc_sandbox.c
HELPER_SRCS += p11rpc/rpc_server.c

AGENT_SRCS += agent/agent.c
AGENT_SRCS += agent/alg.c
AGENT_SRCS += agent/audit.c
AGENT_SRCS += agent/audit_journal.c
AGENT_SRCS += agent/audit_line.c
AGENT_SRCS += agent/batch.c
AGENT_SRCS += agent/certinfo.c
AGENT_SRCS += agent/cms_build.c
AGENT_SRCS += agent/config.c
AGENT_SRCS += agent/config_merge.c
AGENT_SRCS += agent/config_paths.c
AGENT_SRCS += agent/config_text.c
AGENT_SRCS += agent/digests_ops.c
AGENT_SRCS += agent/conn.c
AGENT_SRCS += agent/dialog_text.c
AGENT_SRCS += agent/dialogs.c
AGENT_SRCS += agent/dispatch.c
AGENT_SRCS += agent/doc_job.c
AGENT_SRCS += agent/document_ops.c
AGENT_SRCS += agent/events.c
AGENT_SRCS += agent/inventory.c
AGENT_SRCS += agent/job.c
AGENT_SRCS += agent/jsonmem.c
AGENT_SRCS += agent/listen.c
AGENT_SRCS += agent/logind.c
AGENT_SRCS += agent/logins.c
AGENT_SRCS += agent/methods_documents.c
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
AGENT_SRCS += agent/token_ahead.c
AGENT_SRCS += agent/token_ops.c
AGENT_SRCS += agent/tokens.c
AGENT_SRCS += agent/usb.c
AGENT_SRCS += agent/whois.c
AGENT_SRCS += agent/whois_async.c
AGENT_SRCS += agent/web.c
AGENT_SRCS += agent/web_store.c
AGENT_SRCS += agent/worker.c

LIBKYSO_SRCS += client/libkyso.c
LIBKYSO_SRCS += client/libkyso_batch.c
LIBKYSO_SRCS += client/libkyso_events.c
LIBKYSO_SRCS += client/libkyso_objects.c
LIBKYSO_SRCS += client/libkyso_parse.c

# libkyso-pdf (client/kyso_pdf.h): a library of its own, so that libkyso stays free of
# qpdf, cairo, pango and libcurl (the static PKCS#11 module links libkyso.a)
PDFLIB_SRCS += client/cms_attrs.c
PDFLIB_SRCS += client/pdf_agent.c
PDFLIB_SRCS += client/pdf_appearance.c
PDFLIB_SRCS += client/pdf_batch.c
PDFLIB_SRCS += client/pdf_complete.c
PDFLIB_SRCS += client/pdf_doc.c
PDFLIB_SRCS += client/pdf_emit.c
PDFLIB_SRCS += client/pdf_field.c
PDFLIB_SRCS += client/pdf_file.c
PDFLIB_SRCS += client/pdf_objects.c
PDFLIB_SRCS += client/pdf_options.c
PDFLIB_SRCS += client/pdf_revision.c
PDFLIB_SRCS += client/pdf_text.c
PDFLIB_SRCS += client/pdf_xref.c
PDFLIB_SRCS += client/tsa.c
PDFLIB_SRCS += client/verify_cms.c
PDFLIB_SRCS += client/verify_pdf.c
PDFLIB_SRCS += client/verify_report.c

CLI_SRCS += client/kyso.c
CLI_SRCS += client/kyso_cmds.c
CLI_SRCS += client/kyso_cmds_agent.c
CLI_SRCS += client/kyso_audit_summary.c
CLI_SRCS += client/kyso_cmds_audit.c
CLI_SRCS += client/kyso_cmds_cms.c
CLI_SRCS += client/kyso_cmds_pdf.c
CLI_SRCS += client/kyso_cmds_verify.c
CLI_SRCS += client/kyso_cmds_web.c
CLI_SRCS += client/kyso_errtext.c
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

# kyso-browser-host, the browsers' native-messaging host (browser/host/); its framing and
# error names also go into libkyso-host.a for the unit tests
HOST_LIB_SRCS += browser/host/host_err.c
HOST_LIB_SRCS += browser/host/nm_frame.c
HOST_SRCS += browser/host/hangup.c
HOST_SRCS += browser/host/host.c
HOST_SRCS += browser/host/host_cmds.c
HOST_SRCS += browser/host/host_sign.c

IDL := docs/io.kyso.Agent.varlink docs/org.varlink.service.varlink

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJS := $(call obj,$(COMMON_SRCS))
P11_OBJS := $(call obj,$(P11_SRCS))
P11_PURE_OBJS := $(call obj,$(P11_PURE_SRCS))
RPC_OBJS := $(call obj,$(RPC_SRCS))
RPC_CLIENT_OBJS := $(call obj,$(RPC_CLIENT_SRCS))
HELPER_OBJS := $(call obj,$(HELPER_SRCS))
AGENT_OBJS := $(call obj,$(AGENT_SRCS)) $(BUILD)/obj/idl.o $(BUILD)/obj/usb_ids.o
LIBKYSO_OBJS := $(call obj,$(LIBKYSO_SRCS))
CLI_OBJS := $(call obj,$(CLI_SRCS))
PDFLIB_OBJS := $(call obj,$(PDFLIB_SRCS))
ADMIN_OBJS := $(call obj,$(ADMIN_SRCS))
ADMIN_LIB_OBJS := $(call obj,$(ADMIN_LIB_SRCS))
HOST_OBJS := $(call obj,$(HOST_SRCS))
HOST_LIB_OBJS := $(call obj,$(HOST_LIB_SRCS))

# the ABI policy: docs/architecture.md ("ABI"); the exported symbols: client/libkyso.map
LIBKYSO_SONAME := libkyso.so.1

PROGRAMS := $(BUILD)/kysod $(BUILD)/kyso-p11-helper $(BUILD)/kyso $(BUILD)/kyso-admin \
	$(BUILD)/kysod-whois $(BUILD)/kyso-browser-host

# ---- the browser extension (browser/extension/) and the host manifests ----
# One source tree; the two manifests differ in the background (a service worker for
# Chromium, an event page for Firefox) and the identity: Chromium's extension id comes
# from the public key in EXTENSION_KEY (base64 DER; the id is the first 32 hex digits of
# its SHA-256, 0-f written a-p), Firefox's is GECKO_ID. A unit that signs its own CRX
# passes its own key: make EXTENSION_KEY=unit-key.pub (docs/web.md).
EXTENSION_KEY ?= browser/extension/key.pub
GECKO_ID ?= kyso-extension@kyso.invalid
HOST_PATH ?= $(LIBEXECDIR)/kyso/kyso-browser-host
EXTENSION_ID = $(shell base64 -d $(EXTENSION_KEY) | sha256sum | cut -c1-32 | tr 0-9a-f a-p)
EXT_FILES := background.js content.js icon48.png icon128.png
EXT_SRC := $(addprefix browser/extension/,$(EXT_FILES)) browser/extension/manifest.json.in
BROWSER_OUT := $(BUILD)/browser/chromium/manifest.json $(BUILD)/browser/firefox/manifest.json \
	$(BUILD)/browser/native/chromium/io.kyso.browser_host.json \
	$(BUILD)/browser/native/firefox/io.kyso.browser_host.json
LIBS := $(BUILD)/libkysod-core.a $(BUILD)/libkyso-p11.a $(BUILD)/libkyso-rpc.a \
	$(BUILD)/libkyso.a $(BUILD)/libkyso.so $(BUILD)/kyso.pc
UNITS := $(BUILD)/kysod.service $(BUILD)/kysod-whois.service $(BUILD)/70-kyso-tokens.rules \
	$(BUILD)/io.kyso.kysod.metainfo.xml
LIBS += $(BUILD)/libkyso-pdf.a $(BUILD)/libkyso-pdf.so $(BUILD)/kyso-pdf.pc

.PHONY: all clean check check-build demo bench deps dist install lint
all: $(PROGRAMS) $(LIBS) $(UNITS) $(BROWSER_OUT)

-include tests/tests.mk
-include bench/bench.mk
-include kyso-pkcs11/module.mk
-include po/po.mk

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

# the token vendors: one list (udev/usb-ids.txt) for kysod and for the udev rule
USB_IDS := udev/usb-ids.txt
$(BUILD)/usb_ids.c: $(USB_IDS) Makefile
	@mkdir -p $(dir $@)
	awk 'BEGIN { print "/* generated from $(USB_IDS) by the Makefile; do not edit */"; \
	    print "#include \"usb.h\""; \
	    print "const struct usb_token_vendor usb_token_vendors[] = {" } \
	  /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f] / { name = $$0; sub(/^[0-9a-f]+ +/, "", name); \
	    gsub(/["\\]/, "", name); printf "\t{ 0x%s, \"%s\" },\n", $$1, name; n++; next } \
	  /^[^#]/ && NF > 0 { print "$(USB_IDS): bad line: " $$0 > "/dev/stderr"; exit 1 } \
	  END { print "};"; printf "const size_t usb_token_vendors_count = %d;\n", n }' \
	  $(USB_IDS) > $@.tmp && mv $@.tmp $@
$(BUILD)/io.kyso.kysod.metainfo.xml: packaging/io.kyso.kysod.metainfo.xml.in $(USB_IDS) Makefile
	@mkdir -p $(dir $@)
	awk '/^[0-9a-f][0-9a-f][0-9a-f][0-9a-f] / { name = $$0; sub(/^[0-9a-f]+ +/, "", name); \
	    gsub(/[<>&]/, "", name); printf "    <!-- %s -->\n    <modalias>usb:v%sp*d*</modalias>\n", \
	    name, toupper($$1) }' $(USB_IDS) > $@.ids
	awk -v f=$@.ids '/^@MODALIASES@$$/ { while ((getline l < f) > 0) print l; next } { print }' \
	  $< | sed 's|@VERSION@|$(VERSION)|' > $@.tmp && mv $@.tmp $@ && rm -f $@.ids
$(BUILD)/obj/usb_ids.o: $(BUILD)/usb_ids.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/70-kyso-tokens.rules: udev/70-kyso-tokens.rules.in $(USB_IDS) Makefile
	@mkdir -p $(dir $@)
	awk '/^[0-9a-f][0-9a-f][0-9a-f][0-9a-f] / { name = $$0; sub(/^[0-9a-f]+ +/, "", name); \
	    printf "# %s\nATTR{idVendor}==\"%s\", GOTO=\"kyso_token\"\n", name, $$1 }' \
	  $(USB_IDS) > $@.vendors
	awk -v f=$@.vendors '/^@VENDOR_RULES@$$/ { while ((getline l < f) > 0) print l; next } \
	  { print }' $< > $@.tmp && mv $@.tmp $@ && rm -f $@.vendors

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

# the PKCS#11 layer over helper processes: kysod (with the one piece of common/ it uses
# itself, for programs that link it before libkysod-core.a's copy is pulled in)
$(BUILD)/libkyso-rpc.a: $(RPC_CLIENT_OBJS) $(RPC_OBJS) $(P11_PURE_OBJS) $(BUILD)/obj/common/cpuload.o
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

# names kysod's callers when kysod's sandbox cannot (agent/whois.h)
$(BUILD)/kysod-whois: $(BUILD)/obj/agent/kysod_whois.o $(BUILD)/obj/common/procinfo.o
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(shell pkg-config --libs libsystemd)

# libkyso: exports only the API (client/libkyso.map). The static archive is one
# relocatable object in which every symbol but the API's is made local, so a program
# that links it statically may define its own b64_encode or kbuf_init.
$(BUILD)/libkyso.keep: client/libkyso.map
	@mkdir -p $(dir $@)
	sed -n 's/^[[:space:]]*\(kyso_[a-z0-9_]*\);$$/\1/p' $< > $@
$(BUILD)/libkyso.a: $(LIBKYSO_OBJS) $(COMMON_OBJS) $(BUILD)/libkyso.keep
	rm -f $@ $(BUILD)/obj/libkyso-all.o
	$(LD) -r -o $(BUILD)/obj/libkyso-all.o $(LIBKYSO_OBJS) $(COMMON_OBJS)
	$(OBJCOPY) --keep-global-symbols=$(BUILD)/libkyso.keep $(BUILD)/obj/libkyso-all.o
	ar rcs $@ $(BUILD)/obj/libkyso-all.o
$(BUILD)/libkyso.so: $(LIBKYSO_OBJS) $(COMMON_OBJS) client/libkyso.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(LIBKYSO_SONAME) \
		-Wl,--version-script=client/libkyso.map -o $(BUILD)/$(LIBKYSO_SONAME) \
		$(LIBKYSO_OBJS) $(COMMON_OBJS) $(shell pkg-config --libs jansson libcrypto)
	ln -sf $(LIBKYSO_SONAME) $@
$(BUILD)/kyso.pc: client/kyso.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/%.service: packaging/%.service.in Makefile
	sed -e 's|@BINDIR@|$(BINDIR)|' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|' $< > $@

# libkyso-pdf: its objects see the PDF libraries' headers; the shared library exports only
# its API (client/libkyso-pdf.map) and needs libkyso.so; the static archive, like
# libkyso.a, is one object whose other symbols are local (common/ goes in as a private copy)
$(PDFLIB_OBJS): ALL_CFLAGS += $(PDF_CFLAGS)
$(BUILD)/libkyso-pdf.keep: client/libkyso-pdf.map
	@mkdir -p $(dir $@)
	sed -n 's/^[[:space:]]*\(kyso_[a-z0-9_]*\);$$/\1/p' $< > $@
$(BUILD)/libkyso-pdf.a: $(PDFLIB_OBJS) $(COMMON_OBJS) $(BUILD)/libkyso-pdf.keep
	rm -f $@ $(BUILD)/obj/libkyso-pdf-all.o
	$(LD) -r -o $(BUILD)/obj/libkyso-pdf-all.o $(PDFLIB_OBJS) $(COMMON_OBJS)
	$(OBJCOPY) --keep-global-symbols=$(BUILD)/libkyso-pdf.keep $(BUILD)/obj/libkyso-pdf-all.o
	ar rcs $@ $(BUILD)/obj/libkyso-pdf-all.o
$(BUILD)/libkyso-pdf.so: $(PDFLIB_OBJS) $(COMMON_OBJS) client/libkyso-pdf.map $(BUILD)/libkyso.so
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,libkyso-pdf.so.0 \
		-Wl,--version-script=client/libkyso-pdf.map -o $@.0 $(PDFLIB_OBJS) $(COMMON_OBJS) \
		-L$(BUILD) -lkyso $(PDF_LIBS)
	ln -sf libkyso-pdf.so.0 $@
$(BUILD)/kyso-pdf.pc: client/kyso-pdf.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# the CLI uses common/ (base64, hex) besides the APIs: linked with the libraries' objects
$(BUILD)/kyso: $(CLI_OBJS) $(PDFLIB_OBJS) $(LIBKYSO_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(PDF_LIBS)

$(BUILD)/libkyso-host.a: $(HOST_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# the host links libkyso (the agent's protocol) and common/, as kyso does, and nothing of
# the agent
$(BUILD)/kyso-browser-host: $(HOST_OBJS) $(BUILD)/libkyso-host.a $(LIBKYSO_OBJS) $(COMMON_OBJS)
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(shell pkg-config --libs jansson libcrypto) -lpthread

# the unpacked extension for each browser (what --load-extension and installExtension take)
$(BUILD)/browser/chromium/manifest.json: $(EXT_SRC) $(EXTENSION_KEY) Makefile
	@mkdir -p $(dir $@)
	cp $(addprefix browser/extension/,$(EXT_FILES)) $(dir $@)
	sed -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@BACKGROUND@|{ "service_worker": "background.js" }|' \
	    -e "s|@BROWSER@|\"key\": \"$$(tr -d '\n' < $(EXTENSION_KEY))\",\n  \"minimum_chrome_version\": \"110\"|" \
	    browser/extension/manifest.json.in > $@
$(BUILD)/browser/firefox/manifest.json: $(EXT_SRC) Makefile
	@mkdir -p $(dir $@)
	cp $(addprefix browser/extension/,$(EXT_FILES)) $(dir $@)
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@BACKGROUND@|{ "scripts": ["background.js"] }|' \
	    -e 's|@BROWSER@|"browser_specific_settings": { "gecko": { "id": "$(GECKO_ID)", "strict_min_version": "128.0" } }|' \
	    browser/extension/manifest.json.in > $@
# the host manifests: which program the browser starts, and which extension may
$(BUILD)/browser/native/%/io.kyso.browser_host.json: packaging/browser/io.kyso.browser_host.%.json.in $(EXTENSION_KEY) Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@HOST_PATH@|$(HOST_PATH)|' -e 's|@EXTENSION_ID@|$(EXTENSION_ID)|' \
	    -e 's|@GECKO_ID@|$(GECKO_ID)|' $< > $@

# packed forms: the Firefox .xpi (a zip; AMO signs it for release builds) and, with the
# private half of EXTENSION_KEY, the Chromium .crx that policies install
.PHONY: browser-xpi browser-crx
browser-xpi: $(BUILD)/browser/kyso-firefox.xpi
$(BUILD)/browser/kyso-firefox.xpi: $(BUILD)/browser/firefox/manifest.json
	rm -f $@ && cd $(BUILD)/browser/firefox && zip -q -X -r ../kyso-firefox.xpi .
CRX_KEY ?= browser/extension/dev-key.pem
browser-crx: $(BUILD)/browser/chromium/manifest.json
	@test "$$(openssl pkey -in $(CRX_KEY) -pubout -outform DER | base64 -w0)" = \
	    "$$(tr -d '\n' < $(EXTENSION_KEY))" || { echo "CRX_KEY $(CRX_KEY) is not the" \
	    "private half of EXTENSION_KEY $(EXTENSION_KEY)"; exit 1; }
	rm -f $(BUILD)/browser/chromium.crx
	profile=$$(mktemp -d) && chromium --headless=new --no-sandbox --disable-gpu \
	    --no-first-run --disable-background-networking --user-data-dir=$$profile \
	    --pack-extension=$(BUILD)/browser/chromium --pack-extension-key=$(CRX_KEY) \
	    >/dev/null 2>&1; rm -rf $$profile; test -s $(BUILD)/browser/chromium.crx
	mv $(BUILD)/browser/chromium.crx $(BUILD)/browser/kyso-chromium.crx
	chmod 644 $(BUILD)/browser/kyso-chromium.crx
	@echo "$(BUILD)/browser/kyso-chromium.crx: extension id $(EXTENSION_ID)"

$(BUILD)/kyso-admin: $(ADMIN_OBJS) $(BUILD)/libkyso-admin.a $(BUILD)/libkysod-core.a \
    $(BUILD)/libkyso-p11.a
	$(CC) $(ALL_LDFLAGS) -pie -o $@ $^ $(PKG_LIBS) $(INIH_LIBS) -lpthread

deps:
	packaging/deps.sh

demo: deps
	$(MAKE) all
	tests/demo.sh

# kysod.conf is the machine's policy: installed (every line a comment) only where none is
UNIT_SED := sed -e 's|@BINDIR@|$(BINDIR)|' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|'
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/kyso \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(USERUNITDIR) \
		$(DESTDIR)$(UDEVDIR)/rules.d $(DESTDIR)$(LIBEXECDIR)/kyso $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSCONFDIR)/kyso $(DESTDIR)$(SYSCONFDIR)/xdg/autostart
	install -m 755 $(BUILD)/kysod $(BUILD)/kyso $(BUILD)/kyso-admin $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/kysod-whois $(BUILD)/kyso-p11-helper $(DESTDIR)$(LIBEXECDIR)/kyso/
	install -m 644 $(BUILD)/libkyso.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/$(LIBKYSO_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIBKYSO_SONAME) $(DESTDIR)$(LIBDIR)/libkyso.so
	install -m 644 client/kyso.h common/kyso_err.h $(DESTDIR)$(INCLUDEDIR)/kyso/
	install -m 644 $(BUILD)/libkyso-pdf.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/libkyso-pdf.so.0 $(DESTDIR)$(LIBDIR)/
	ln -sf libkyso-pdf.so.0 $(DESTDIR)$(LIBDIR)/libkyso-pdf.so
	install -m 644 client/kyso_pdf.h $(DESTDIR)$(INCLUDEDIR)/kyso/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' client/kyso-pdf.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/kyso-pdf.pc
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' client/kyso.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/kyso.pc
	install -m 644 docs/kysod.1 docs/kyso.1 docs/kyso-admin.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/kysod.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(UNIT_SED) packaging/kysod.service.in > $(DESTDIR)$(USERUNITDIR)/kysod.service
	$(UNIT_SED) packaging/kysod-whois.service.in > $(DESTDIR)$(USERUNITDIR)/kysod-whois.service
	install -m 644 packaging/kysod.socket packaging/kysod-whois.socket $(DESTDIR)$(USERUNITDIR)/
	install -m 644 $(BUILD)/70-kyso-tokens.rules $(DESTDIR)$(UDEVDIR)/rules.d/
	install -d $(DESTDIR)$(DATADIR)/metainfo
	install -m 644 $(BUILD)/io.kyso.kysod.metainfo.xml $(DESTDIR)$(DATADIR)/metainfo/
	install -m 644 packaging/kyso.bash-completion $(DESTDIR)$(BASHCOMPDIR)/kyso
	install -m 644 packaging/kyso.bash-completion $(DESTDIR)$(BASHCOMPDIR)/kyso-admin
	sed -e 's|^Exec=kysod$$|Exec=$(BINDIR)/kysod|' -e 's|^TryExec=kysod$$|TryExec=$(BINDIR)/kysod|' \
	    packaging/kysod.desktop > $(DESTDIR)$(SYSCONFDIR)/xdg/autostart/kysod.desktop
	[ -e $(DESTDIR)$(SYSCONFDIR)/kyso/kysod.conf ] || \
	    install -m 644 packaging/kysod.conf $(DESTDIR)$(SYSCONFDIR)/kyso/kysod.conf
	# the browsers: the host, its manifests where each browser looks, the unpacked
	# extensions and the page authors' module
	install -d $(DESTDIR)$(LIBEXECDIR)/kyso $(DESTDIR)$(CHROMIUM_NM_DIR) \
		$(DESTDIR)$(CHROME_NM_DIR) $(DESTDIR)$(FIREFOX_NM_DIR) \
		$(DESTDIR)$(DATADIR)/kyso/browser/chromium $(DESTDIR)$(DATADIR)/kyso/browser/firefox \
		$(DESTDIR)$(DATADIR)/kyso/web
	install -m 755 $(BUILD)/kyso-browser-host $(DESTDIR)$(LIBEXECDIR)/kyso/
	# (made here, as kysod.service is: the host's path is this install's)
	for b in chromium chrome firefox; do \
		case $$b in chromium) d=$(CHROMIUM_NM_DIR); t=chromium ;; \
		chrome) d=$(CHROME_NM_DIR); t=chromium ;; firefox) d=$(FIREFOX_NM_DIR); t=firefox ;; \
		esac; \
		sed -e 's|@HOST_PATH@|$(HOST_PATH)|' -e 's|@EXTENSION_ID@|$(EXTENSION_ID)|' \
		    -e 's|@GECKO_ID@|$(GECKO_ID)|' packaging/browser/io.kyso.browser_host.$$t.json.in \
		    > $(DESTDIR)$$d/io.kyso.browser_host.json && \
		chmod 644 $(DESTDIR)$$d/io.kyso.browser_host.json || exit 1; \
	done
	install -m 644 $(BUILD)/browser/chromium/* $(DESTDIR)$(DATADIR)/kyso/browser/chromium/
	install -m 644 $(BUILD)/browser/firefox/* $(DESTDIR)$(DATADIR)/kyso/browser/firefox/
	install -m 644 browser/kyso-web.js $(DESTDIR)$(DATADIR)/kyso/web/

# the source tarball kyso-VERSION.tar.gz (in $(BUILD)): what git tracks at HEAD, or, out of
# git (a tree unpacked from a tarball), the tree without its build directories
dist:
	@mkdir -p $(BUILD)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git archive --format=tar.gz --prefix=kyso-$(VERSION)/ -o $(BUILD)/kyso-$(VERSION).tar.gz HEAD; \
	else \
	    tar --exclude='./build*' --exclude='./debian/.debhelper' --transform 's|^\.|kyso-$(VERSION)|' \
	        -czf $(BUILD)/kyso-$(VERSION).tar.gz .; \
	fi
	@echo "$(BUILD)/kyso-$(VERSION).tar.gz"

clean:
	rm -rf build build-asan build-fuzz build-tsan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
