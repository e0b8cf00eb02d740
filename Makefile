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
PKGS        := libcurl json-c libssl libcrypto

# pkg-config is read when make parses this file: a target that installs packages first (demo,
# check, bench) builds in a new make, which reads the flags again after the install.
PKG_OK      := $(shell $(PKG_CONFIG) --exists $(PKGS) 2>/dev/null && echo yes)
DEP_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# The core loads libcurl itself on its first HTTP request (common/http.c), so
# that cache hits never pay for loading it; only the curl plug-in links it.
CORE_LIBS   := $(shell $(PKG_CONFIG) --libs json-c libssl libcrypto 2>/dev/null) -lpthread -ldl
DEP_LIBS    := $(CORE_LIBS) $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null)

WARN        := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
               -Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wno-missing-field-initializers
HARDEN      := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT         ?= -O2 -g
CFLAGS      ?=
CFLAGS      += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -fvisibility=hidden \
               -Iinclude -Icommon $(DEP_CFLAGS)
LDFLAGS     += -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
# Shared objects must resolve every symbol at link time, so an under-linked library cannot be
# made at all (sanitizer builds leave the runtime's symbols to the executable that loads them).
SO_NOUNDEF   = $(if $(findstring -fsanitize,$(OPT) $(CFLAGS) $(LDFLAGS)),,-Wl,--no-undefined)

CORE_SRC    := $(sort $(wildcard common/*.c))
CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_SRC     := $(sort $(wildcard cli/*.c))
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/%.o)

LIBA        := $(BUILD)/libazmi.a
LIBSO       := $(BUILD)/libazmi.so.$(SOVERSION)
AZMI        := $(BUILD)/azmi

.PHONY: all deps check demo bench fuzz install clean format format-check FORCE
all: $(LIBA) $(LIBSO) $(AZMI) $(BUILD)/azmi.pc

# $(BUILD)/flags holds the flags everything in $(BUILD) was built with.  It is rewritten only when
# they change (packages installed, another CC or OPT), and what is built depends on it, so nothing
# made with other flags survives into a later build.
BUILD_FLAGS := $(CC) | $(CFLAGS) | $(LDFLAGS) | $(DEP_LIBS)
$(BUILD)/flags: FORCE
	@[ -n "$(PKG_OK)" ] || { echo "make: the build packages are missing (pkg-config finds no $(PKGS));" \
		"run 'make deps' first, or 'make demo' / 'make check', which install them" >&2; exit 1; }
	@mkdir -p $(@D)
	@printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' | cmp -s - $@ || \
		printf '%s\n' '$(subst ','\'',$(BUILD_FLAGS))' >$@

$(BUILD)/%.o: %.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $(CORE_OBJ)

$(LIBSO): $(CORE_OBJ) common/libazmi.map
	$(CC) -shared -o $@ $(CORE_OBJ) -Wl,-soname,libazmi.so.$(SOVERSION) \
		-Wl,--version-script=common/libazmi.map $(SO_NOUNDEF) $(LDFLAGS) $(CORE_LIBS)
	ln -sf libazmi.so.$(SOVERSION) $(BUILD)/libazmi.so

# The command reaches libcurl_auth's private azmi_exec.h for `azmi curl` / `azmi exec`.
$(CLI_OBJ): CFLAGS += -Ilibcurl_auth

# The command links the static core: one file to install, no run-time search.
$(AZMI): $(CLI_OBJ) $(LIBA)
	$(CC) -o $@ $(CLI_OBJ) $(LIBA) -pie $(LDFLAGS) $(CORE_LIBS)

$(BUILD)/azmi.pc: azmi.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' $< > $@

# Optional parts add themselves here (each adds to ALL_EXTRA and INSTALL_EXTRA).
-include $(sort $(wildcard */build.mk))
all: $(ALL_EXTRA)
# Linked outputs depend on the link flags too.
$(LIBA) $(LIBSO) $(AZMI) $(ALL_EXTRA): $(BUILD)/flags


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

FORMAT_SRC = $(filter-out debian/%,$(wildcard include/*.h */*.[ch] tests/*/*.[ch]))
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: clean"

clean:
	rm -rf $(BUILD)

-include $(CORE_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
