# kyso-pkcs11/module.mk — included by the Makefile: kyso-pkcs11.so, the PKCS#11 module kyso
# offers to other programs (a client of kysod: it links libkyso's objects and the common
# wire format, never the agent's code nor pkcs11/), its p11-kit registration file, and
# the rule for its unit tests (tests/unit/test_kp11_*.c, linked with its objects).

KP11_SRCS += kyso-pkcs11/kp11_agent.c
KP11_SRCS += kyso-pkcs11/kp11_attrs.c
KP11_SRCS += kyso-pkcs11/kp11_ckr.c
KP11_SRCS += kyso-pkcs11/kp11_config.c
KP11_SRCS += kyso-pkcs11/kp11_entry.c
KP11_SRCS += kyso-pkcs11/kp11_events.c
KP11_SRCS += kyso-pkcs11/kp11_init.c
KP11_SRCS += kyso-pkcs11/kp11_logshim.c
KP11_SRCS += kyso-pkcs11/kp11_mech.c
KP11_SRCS += kyso-pkcs11/kp11_nls.c
KP11_SRCS += kyso-pkcs11/kp11_objects.c
KP11_SRCS += kyso-pkcs11/kp11_session.c
KP11_SRCS += kyso-pkcs11/kp11_sign.c
KP11_SRCS += kyso-pkcs11/kp11_slots.c
KP11_SRCS += kyso-pkcs11/kp11_unsupported.c

KP11_OBJS := $(call obj,$(KP11_SRCS))
# the parts of common/ libkyso uses; not log.c (the module never writes to stderr):
# kp11_logshim.c sends its lines to the module's debug log
KP11_COMMON_OBJS := $(call obj,common/buf.c common/encode.c common/fdnum.c common/kyso_err.c \
	common/secret.c common/sockpath.c common/wire.c)
KP11_LIBS := $(shell pkg-config --libs jansson libcrypto p11-kit-1 inih 2>/dev/null) -lpthread

# where PKCS#11 modules go (Debian: /usr/lib/<triplet>/pkcs11, with LIBDIR set to match)
PKCS11DIR ?= $(LIBDIR)/pkcs11
# where p11-kit reads module registrations (it reads /usr/share/p11-kit/modules, so
# PREFIX=/usr for p11-kit-aware programs to find the module)
P11KIT_MODULE_CONFIGS ?= $(DATADIR)/p11-kit/modules
# how the registration names the module: a bare name where p11-kit looks for modules
# itself (multiarch: the program's own architecture's), else the full path
KP11_MODULE_NAME = $(if $(filter $(P11_MODULE_DIR),$(PKCS11DIR)),kyso-pkcs11.so,$(PKCS11DIR)/kyso-pkcs11.so)

$(BUILD)/obj/kyso-pkcs11/%.o: kyso-pkcs11/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c $< -o $@

# -z defs: every symbol resolved at link time; the version script exports only the
# Cryptoki entry points and kysod's marker
$(BUILD)/kyso-pkcs11.so: $(KP11_OBJS) $(LIBKYSO_OBJS) $(KP11_COMMON_OBJS) \
    kyso-pkcs11/kyso-pkcs11.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-z,defs -Wl,-z,noexecstack \
		-Wl,--version-script=kyso-pkcs11/kyso-pkcs11.map -o $@ $(KP11_OBJS) \
		$(LIBKYSO_OBJS) $(KP11_COMMON_OBJS) $(KP11_LIBS)

$(BUILD)/kyso-pkcs11.module: packaging/kyso-pkcs11.module.in Makefile kyso-pkcs11/module.mk
	sed -e 's|@MODULE@|$(KP11_MODULE_NAME)|' $< > $@

all: $(BUILD)/kyso-pkcs11.so $(BUILD)/kyso-pkcs11.module

$(BUILD)/tests/unit/test_kp11_%: tests/unit/test_kp11_%.c $(KP11_OBJS) $(LIBKYSO_OBJS) \
    $(KP11_COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ikyso-pkcs11 -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(KP11_OBJS) \
		$(LIBKYSO_OBJS) $(KP11_COMMON_OBJS) $(KP11_LIBS) -lcmocka

.PHONY: install-pkcs11
install-pkcs11: $(BUILD)/kyso-pkcs11.so
	install -d $(DESTDIR)$(PKCS11DIR) $(DESTDIR)$(P11KIT_MODULE_CONFIGS) \
		$(DESTDIR)$(MANDIR)/man7
	install -m 644 $(BUILD)/kyso-pkcs11.so $(DESTDIR)$(PKCS11DIR)/kyso-pkcs11.so
	# the registration names the module where it is installed (PKCS11DIR as given now)
	sed -e 's|@MODULE@|$(KP11_MODULE_NAME)|' packaging/kyso-pkcs11.module.in \
		> $(DESTDIR)$(P11KIT_MODULE_CONFIGS)/kyso-pkcs11.module
	chmod 644 $(DESTDIR)$(P11KIT_MODULE_CONFIGS)/kyso-pkcs11.module
	install -m 644 docs/kyso-pkcs11.7 $(DESTDIR)$(MANDIR)/man7/
install: install-pkcs11

# kp11_probe: drives the module step by step (tests/integration/pkcs11_*.sh)
$(BUILD)/tests/kp11_probe: tests/tools/kp11_probe.c tests/tools/kp11_probe_util.c tests/tools/kp11_probe.h \
    tests/tools/ckr_names.c tests/tools/ckr_names.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) -ldl -lpthread
tests: $(BUILD)/tests/kp11_probe $(BUILD)/kyso-pkcs11.so
