# pam_azmi/build.mk - logins (included by the top Makefile).
#   $(BUILD)/pam_azmi.so          the PAM account module (exports pam_sm_* only)
#   $(BUILD)/libnss_azmi.so.2     the NSS module (exports _nss_azmi_* only; no network, no json/ssl)
#   `azmi check-login USER`       cli/cmd_check_login.c with the login library (login/)
#   make pam-test-programs        the programs tests/suite-30-pam.sh drives
# Variables: STATEDIR (uid table, admin members, decision cache; default /var/lib/azmi),
# PAM_SECUREDIR (default $(LIBDIR)/security), NSS_LIBDIR (default $(LIBDIR)).

STATEDIR      ?= /var/lib/azmi
PAM_SECUREDIR ?= $(LIBDIR)/security
NSS_LIBDIR    ?= $(LIBDIR)
DATADIR       ?= $(PREFIX)/share

PAMAZMI_SO  := $(BUILD)/pam_azmi.so
NSSAZMI_SO  := $(BUILD)/libnss_azmi.so.2
# The two entry files and the token prompt; everything they decide with is in the login library
# (login/), which `azmi check-login` links too.  The NSS module pulls only the local files from it
# (the map, the uid table, the admin members): no network, no JSON.
PAMAZMI_PAM_OBJ    := $(BUILD)/pam_azmi/auth.o $(BUILD)/pam_azmi/cert.o $(BUILD)/pam_azmi/pam_module.o
PAMAZMI_NSS_OBJ    := $(BUILD)/pam_azmi/nss_module.o
PAMAZMI_ALL_OBJ    := $(PAMAZMI_PAM_OBJ) $(PAMAZMI_NSS_OBJ)
PAMAZMI_CLI        := $(BUILD)/cli/cmd_check_login.o
# Every symbol resolved at link time, except in sanitizer builds (their runtime comes with the program).

$(PAMAZMI_ALL_OBJ) $(PAMAZMI_CLI) $(LOGIN_OBJ): CFLAGS += -DAZMI_STATEDIR='"$(STATEDIR)"'

$(PAMAZMI_SO): $(PAMAZMI_PAM_OBJ) $(LOGIN_LIB) $(CORE_LIB) pam_azmi/pam_azmi.map
	$(CC) -shared -o $@ $(PAMAZMI_PAM_OBJ) $(LOGIN_LIB) $(CORE_LIB) -Wl,--version-script=pam_azmi/pam_azmi.map \
		$(SO_NOUNDEF) $(LDFLAGS) $(CORE_LIBS) -lpam

$(NSSAZMI_SO): $(PAMAZMI_NSS_OBJ) $(LOGIN_LIB) $(CORE_LIB) pam_azmi/nss_azmi.map
	$(CC) -shared -o $@ $(PAMAZMI_NSS_OBJ) $(LOGIN_LIB) $(CORE_LIB) -Wl,-soname,libnss_azmi.so.2 \
		-Wl,--version-script=pam_azmi/nss_azmi.map $(SO_NOUNDEF) $(LDFLAGS)

ALL_EXTRA += $(PAMAZMI_SO) $(NSSAZMI_SO)
INSTALL_EXTRA += install-pam

# The sudoers drop-in is installed as a file to copy, not into /etc/sudoers.d: granting root to a group
# is the administrator's (or the distribution package's) decision.
.PHONY: install-pam pam-test-programs
install-pam: $(PAMAZMI_SO) $(NSSAZMI_SO)
	install -d $(DESTDIR)$(PAM_SECUREDIR) $(DESTDIR)$(NSS_LIBDIR) $(DESTDIR)$(DATADIR)/azmi $(DESTDIR)$(MANDIR)/man8
	install -d -m 0755 $(DESTDIR)$(STATEDIR)
	install -m 0644 $(PAMAZMI_SO) $(DESTDIR)$(PAM_SECUREDIR)/pam_azmi.so
	install -m 0644 $(NSSAZMI_SO) $(DESTDIR)$(NSS_LIBDIR)/libnss_azmi.so.2
	install -m 0644 pam_azmi/sudoers.azmi $(DESTDIR)$(DATADIR)/azmi/sudoers.azmi
	$(foreach m,$(wildcard man/pam_azmi.8 man/nss_azmi.8),install -m 0644 $(m) $(DESTDIR)$(MANDIR)/man8/;)

# Test programs: the dlopen/export check and the NSS buffer (ERANGE) test.
PAM_TEST_PROGS := $(BUILD)/tests/pam/dlopen_check $(BUILD)/tests/pam/nss_direct
$(BUILD)/tests/pam/%: tests/pam/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -ldl
pam-test-programs: $(PAMAZMI_SO) $(NSSAZMI_SO) $(AZMI) $(PAM_TEST_PROGS)
test-programs: pam-test-programs

# The unit tests of the modules' local logic, next to the core's (suite 10-unit runs $(BUILD)/tests/test_*).
PAMAZMI_UNIT := $(BUILD)/tests/test_login
$(PAMAZMI_UNIT): tests/pam/test_login.c $(LOGIN_LIB) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(LOGIN_INC) $(CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(LOGIN_LIB) $(CORE_LIB) \
		$(LDFLAGS) $(DEP_LIBS) $(or $(CMOCKA_LIBS),-lcmocka)
unit-test-programs: $(PAMAZMI_UNIT)

-include $(PAMAZMI_ALL_OBJ:.o=.d) $(PAMAZMI_CLI:.o=.d)

# libFuzzer target (fuzz/build.mk builds it): the map, uid table, decision cache and setting parsers.
# (They are in the login library, which the fuzz build compiles with the core.)
