# packaging/build.mk - Debian packages and what installs beside the login modules
# (included by the top Makefile).
#   make deb-check    build the packages from a copy of the tree, lintian, install them
#                     on this machine, check them, purge them (tests/suite-70-deb.sh; root)
# debian/ holds only what dh reads; this file stays out of it so that a
# distribution's own debian/ can replace ours.

SBINDIR ?= $(PREFIX)/sbin

.PHONY: deb-check install-nss-tool
deb-check:
	@AZMI_DEB_CHECK=1 AZMI_SUITES=70-deb sh tests/run-all.sh

# azmi-nss (nsswitch.conf opt-in, nss_azmi(8)) and azmi-ssh (the sshd drop-in for `az ssh vm`
# certificates, azmi-ssh(8)) go wherever the login modules are built.
ifneq (,$(wildcard pam_azmi/build.mk))
INSTALL_EXTRA += install-nss-tool
endif
install-nss-tool:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 packaging/azmi-nss packaging/azmi-ssh $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/azmi-nss.8 man/azmi-ssh.8 $(DESTDIR)$(MANDIR)/man8/
