# acr/build.mk - Azure Container Registry (included by the top Makefile).
#   $(BUILD)/docker-credential-azmi   the Docker credential helper (acr/docker_credential.c)
# The exchange itself lives in the registry library (registry/acr.c); `azmi acr-token` is cli/cmd_acr_token.c
# and the curl plug-in's registry path libcurl_auth/acr_retry.c.

ACR_HELPER     := $(BUILD)/docker-credential-azmi
ACR_HELPER_OBJ := $(BUILD)/acr/docker_credential.o

# Like the command, it links the static libraries: one file to install, nothing loaded at start but libc,
# json-c and OpenSSL (libcurl only when a refresh token must be fetched).
$(ACR_HELPER): $(ACR_HELPER_OBJ) $(REGISTRY_LIB) $(CORE_LIB)
	$(CC) -o $@ $(ACR_HELPER_OBJ) $(REGISTRY_LIB) $(CORE_LIB) -pie $(LDFLAGS) $(CORE_LIBS)

ALL_EXTRA += $(ACR_HELPER)
INSTALL_EXTRA += install-acr

.PHONY: install-acr
install-acr: $(ACR_HELPER)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(ACR_HELPER) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/docker-credential-azmi.1 $(DESTDIR)$(MANDIR)/man1/

-include $(ACR_HELPER_OBJ:.o=.d)
