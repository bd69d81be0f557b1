# po/po.mk — included by the Makefile: the translations (GNU gettext, text domain "kyso").
#   make            builds $(BUILD)/locale/LANG/LC_MESSAGES/kyso.mo for each language of
#                   po/LINGUAS (msgfmt -c: a translation whose format directives differ
#                   from its msgid's fails the build)
#   make pot        extracts po/kyso.pot from the files of po/POTFILES.in (xgettext)
#   make update-po  merges po/kyso.pot into each po/LANG.po (msgmerge), for translators
#   make install    installs the catalogs in $(LOCALEDIR) (default $(DATADIR)/locale)
# docs/translating.md is the translators' page; tests/integration/i18n_strings.sh fails
# when a string for people is not marked, or a catalog misses one.

PO_LINGUAS := $(shell sed -e 's/\#.*//' po/LINGUAS 2>/dev/null)
PO_FILES := $(shell sed -e 's/\#.*//' po/POTFILES.in 2>/dev/null)
MO_FILES := $(foreach l,$(PO_LINGUAS),$(BUILD)/locale/$(l)/LC_MESSAGES/kyso.mo)
# _() and N_() take one string, P_() the singular and the plural, C_() a context and a
# string (common/i18n.h); the c-format flag follows a marked string into the printf-like functions of the tree, so
# that msgfmt -c checks every translation's directives against its msgid's
XGETTEXT_FLAGS := --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=P_:1,2 --keyword=C_:1c,2 \
	--flag=_:1:pass-c-format --flag=P_:1:pass-c-format --flag=P_:2:pass-c-format \
	--flag=say:3:c-format --flag=reply_fail:4:c-format --flag=reply_invalid:3:c-format \
	--flag=errmsg:4:c-format --flag=fail:3:c-format --flag=kyso_set_error:3:c-format \
	--flag=batch_fail:3:c-format --flag=pdf_fail:3:c-format --flag=opt_fail:3:c-format \
	--flag=tsa_fail:3:c-format --flag=verify_problem:2:c-format \
	--add-comments=TRANSLATORS: --package-name=kyso --package-version=$(VERSION) \
	--msgid-bugs-address=maintainers@kyso.invalid --copyright-holder='kyso maintainers' \
	--no-wrap

all: $(MO_FILES)

$(BUILD)/locale/%/LC_MESSAGES/kyso.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt -c -o $@.tmp $< && mv $@.tmp $@

.PHONY: pot update-po install-locale
# POT_OUT: where (tests/integration/i18n_strings.sh extracts into its own directory)
POT_OUT ?= po/kyso.pot
pot:
	xgettext $(XGETTEXT_FLAGS) -o $(POT_OUT) $(PO_FILES)
	sed -i -e '/^"POT-Creation-Date:/d' $(POT_OUT)

update-po: pot
	for l in $(PO_LINGUAS); do \
		msgmerge --quiet --update --backup=none --no-wrap po/$$l.po po/kyso.pot || exit 1; \
	done

install: install-locale
install-locale: $(MO_FILES)
	for l in $(PO_LINGUAS); do \
		install -D -m 644 $(BUILD)/locale/$$l/LC_MESSAGES/kyso.mo \
			$(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/kyso.mo || exit 1; \
	done

# where the programs look for the catalogs
$(BUILD)/obj/common/i18n.o: ALL_CFLAGS += -DKYSO_LOCALEDIR='"$(LOCALEDIR)"'
