# azmi - top-level build.  Everything is built into $(BUILD)/.
#   make            libazmi.a, libazmi.so.1, azmi
#   make deps       install the Debian build and test packages (apt-get)
#   make check      every test suite (unit, integration, sanitizers, fuzz smoke, style)
#   make demo       local Azure stand-in, a token, a blob through curl, a login
#   make bench      figures against the peers
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make install    DESTDIR / PREFIX honoured

VERSION     := 0.1.0
SOVERSION   := 1
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

BUILD       ?= build
CC          ?= gcc
PKG_CONFIG  ?= pkg-config
OBJCOPY     ?= objcopy
PKGS        := libcurl json-c libssl libcrypto

# pkg-config is read when make parses this file: a target that installs packages first (demo,
# check, bench) builds in a new make, which reads the flags again after the install.
PKG_OK      := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)
DEP_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# The core loads libcurl itself on its first HTTP request (core/http.c), so
# that cache hits never pay for loading it; only the curl plug-in links it.
CORE_LIBS   := $(shell $(PKG_CONFIG) --libs json-c libssl libcrypto 2>/dev/null) -lpthread -ldl
DEP_LIBS    := $(CORE_LIBS) $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)

WARN        := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
               -Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wno-missing-field-initializers
HARDEN      := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT         ?= -O2 -g
CFLAGS      ?=
CFLAGS      += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -fvisibility=hidden \
               -Iinclude $(DEP_CFLAGS)
LDFLAGS     += -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
# Shared objects must resolve every symbol at link time, so an under-linked library cannot be
# made at all (sanitizer builds leave the runtime's symbols to the executable that loads them).
SO_NOUNDEF   = $(if $(findstring -fsanitize,$(OPT) $(CFLAGS) $(LDFLAGS)),,-Wl,--no-undefined)

# Three libraries, each layer built only against the layers below it (its include path names no
# higher one, so including a higher header fails to compile):
#   core/      the token core: libazmi.a, libazmi.so.1 (include/azmi.h)
#   login/     logins above the core: RBAC, Graph, instance metadata, JWT/JWKS, the decision
#   registry/  container registries above the core
# Front ends (cli/, pam_azmi/, libcurl_auth/, acr/) link the libraries they use, never each other,
# and see of the core only include/ and core/internal/ (frontend.h and the helpers they share), never
# the context's layout (ctx.h) or another core header.
CORE_SRC    := $(sort $(wildcard core/*.c))
CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/%.o)
LOGIN_SRC   := $(sort $(wildcard login/*.c))
LOGIN_OBJ   := $(LOGIN_SRC:%.c=$(BUILD)/%.o)
REGISTRY_SRC := $(sort $(wildcard registry/*.c))
REGISTRY_OBJ := $(REGISTRY_SRC:%.c=$(BUILD)/%.o)
CLI_SRC     := $(sort $(wildcard cli/*.c))
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/%.o)

CORE_INC     := -Icore -Icore/internal -I$(BUILD)/gen
LOGIN_INC    := $(CORE_INC) -Ilogin
REGISTRY_INC := $(CORE_INC) -Iregistry
# What a front end may include besides include/.
FRONT_INC    := -Icore/internal -Ilogin -Iregistry

LIBA        := $(BUILD)/libazmi.a
CORE_LIB    := $(BUILD)/libazmi_core.a
LIBSO       := $(BUILD)/libazmi.so.$(SOVERSION)
LOGIN_LIB   := $(BUILD)/libazmi_login.a
REGISTRY_LIB := $(BUILD)/libazmi_registry.a
AZMI        := $(BUILD)/azmi

.PHONY: all deps check demo bench bench-fleet fuzz install clean format format-check layer-check FORCE
all: $(LIBA) $(LIBSO) $(AZMI) $(BUILD)/azmi.pc

# $(BUILD)/flags holds the flags everything in $(BUILD) was built with.  It is rewritten only when
# they change (packages installed, another CC or OPT), and what is built depends on it, so nothing
# made with other flags survives into a later build.
BUILD_FLAGS := $(CC) | $(CFLAGS) | $(LDFLAGS) | $(DEP_LIBS) | $(CORE_INC) | $(LOGIN_INC) | $(REGISTRY_INC) | $(FRONT_INC)
$(BUILD)/flags: FORCE
	@[ -n "$(PKG_OK)" ] || { echo "make: the build packages are missing (pkg-config finds no $(PKGS));" \
		"run 'make deps' first, or 'make demo' / 'make check', which install them" >&2; exit 1; }
	@mkdir -p $(@D)
	@printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' | cmp -s - $@ || \
		printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' >$@

# INC: the include path of the part a source belongs to (a front end's build.mk sets its own).
INC          = $(FRONT_INC)
$(BUILD)/core/%.o: INC = $(CORE_INC)
$(BUILD)/login/%.o: INC = $(LOGIN_INC)
$(BUILD)/registry/%.o: INC = $(REGISTRY_INC)

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(INC) $(CFLAGS) -MMD -MP -c -o $@ $<

# azmi.conf keys: each part lists the keys it owns in its folder's config_keys.def; the core's unknown-key
# check is built from all of them (a run-time registry would make a program that links only libazmi warn
# about the login, registry and curl keys of the shared file).
CONFIG_KEY_DEFS := $(sort $(wildcard */config_keys.def))
$(BUILD)/gen/config_keys_all.def: $(CONFIG_KEY_DEFS) FORCE
	@mkdir -p $(@D)
	@cat $(CONFIG_KEY_DEFS) | cmp -s - $@ || cat $(CONFIG_KEY_DEFS) >$@
$(BUILD)/core/config.o: $(BUILD)/gen/config_keys_all.def

# The core for azmi's own programs and tests, internal names visible.
$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(CORE_OBJ)

# The static library libazmi-dev ships: the core linked into one object whose symbols are all made
# local but the API (include/azmi.h, the only default-visibility names), so that a program linking
# it meets none of our internal names (json_get_string, log_line, ...).
$(LIBA): $(CORE_OBJ)
	@rm -f $@ $(BUILD)/libazmi.o
	$(LD) -r -o $(BUILD)/libazmi.o $(CORE_OBJ)
	$(OBJCOPY) --localize-hidden $(BUILD)/libazmi.o
	$(AR) rcs $@ $(BUILD)/libazmi.o

$(LOGIN_LIB): $(LOGIN_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(LOGIN_OBJ)

$(REGISTRY_LIB): $(REGISTRY_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(REGISTRY_OBJ)

$(LIBSO): $(CORE_OBJ) core/libazmi.map
	$(CC) -shared -o $@ $(CORE_OBJ) -Wl,-soname,libazmi.so.$(SOVERSION) \
		-Wl,--version-script=core/libazmi.map $(SO_NOUNDEF) $(LDFLAGS) $(CORE_LIBS)
	ln -sf libazmi.so.$(SOVERSION) $(BUILD)/libazmi.so

MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)
# `azmi curl` / `azmi exec` preload the plug-in from where `make install` puts it.
$(BUILD)/cli/azmi_exec.o: CFLAGS += -DAZMI_CURL_INSTALL_PATH='"$(LIBDIR)/libazmi_curl.so.$(SOVERSION)"' \
	-DAZMI_MULTIARCH='"$(MULTIARCH)"'

# The command links the static libraries: one file to install, no run-time search.
$(AZMI): $(CLI_OBJ) $(LOGIN_LIB) $(REGISTRY_LIB) $(CORE_LIB)
	$(CC) -o $@ $(CLI_OBJ) $(LOGIN_LIB) $(REGISTRY_LIB) $(CORE_LIB) -pie $(LDFLAGS) $(CORE_LIBS)

$(BUILD)/azmi.pc: azmi.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# Optional parts add themselves here (each adds to ALL_EXTRA and INSTALL_EXTRA).
-include $(sort $(wildcard */build.mk))
all: $(ALL_EXTRA)
# Linked outputs depend on the link flags too.
$(LIBA) $(CORE_LIB) $(LIBSO) $(LOGIN_LIB) $(REGISTRY_LIB) $(AZMI) $(ALL_EXTRA): $(BUILD)/flags


deps:
	@sh tools/install-deps.sh build test

check: deps
	@$(MAKE) --no-print-directory all test-programs
	@sh tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh demo/run.sh

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sf libazmi.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libazmi.so
	install -m 0644 include/azmi.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(BUILD)/azmi.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 0755 $(AZMI) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 man/azmi.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/libazmi.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 man/azmi.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(if $(INSTALL_EXTRA),$(MAKE) --no-print-directory $(INSTALL_EXTRA))

# The layers hold: each include path below must refuse the header named beside it (a front end the
# context's layout, the core the login and registry libraries, each library the other), and a front
# end must reach the internal API.  tests/suite-05-exports.sh runs it.
LAYER_PROBES := FRONT_INC:ctx.h FRONT_INC:http.h FRONT_INC:exchange.h CORE_INC:rbac.h CORE_INC:acr.h LOGIN_INC:acr.h \
                REGISTRY_INC:rbac.h
layer-check:
	@set -e; for p in $(LAYER_PROBES); do \
		inc=$${p%%:*}; hdr=$${p#*:}; \
		case $$inc in FRONT_INC) flags="$(FRONT_INC)";; CORE_INC) flags="$(CORE_INC)";; \
			LOGIN_INC) flags="$(LOGIN_INC)";; REGISTRY_INC) flags="$(REGISTRY_INC)";; esac; \
		if printf '#include "%s"\n' "$$hdr" | $(CC) -Iinclude $$flags $(DEP_CFLAGS) -fsyntax-only -x c - \
			2>/dev/null; then echo "FAIL: $$inc reaches $$hdr"; exit 1; fi; \
		echo "ok: $$inc cannot include $$hdr"; \
	done; \
	printf '#include "frontend.h"\n#include "decide.h"\n#include "acr.h"\n' | \
		$(CC) -Iinclude $(FRONT_INC) $(DEP_CFLAGS) -fsyntax-only -x c - && \
		echo "ok: FRONT_INC reaches frontend.h, the login and the registry library"

FORMAT_SRC = $(filter-out debian/%,$(wildcard include/*.h */*.[ch] core/internal/*.h tests/*/*.[ch]))
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: clean"

clean:
	rm -rf $(BUILD)

-include $(CORE_OBJ:.o=.d) $(LOGIN_OBJ:.o=.d) $(REGISTRY_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
