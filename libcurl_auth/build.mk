# libcurl_auth/build.mk - the curl plug-in (included by the top Makefile).
#   $(BUILD)/libazmi_curl.so.1      LD_PRELOAD plug-in and C API (include/azmi_curl.h)
#   make curl-test-programs         the programs tests/suite-40-curl.sh drives

CURLAUTH_SRC  := $(sort $(wildcard libcurl_auth/*.c))
CURLAUTH_OBJ  := $(CURLAUTH_SRC:%.c=$(BUILD)/%.o)
CURLAUTH_SO   := $(BUILD)/libazmi_curl.so.$(SOVERSION)
# Every symbol resolved at link time, except in sanitizer builds (their runtime comes with the program).

$(CURLAUTH_OBJ): CFLAGS += -DCURL_DISABLE_TYPECHECK -DCURL_DISABLE_DEPRECATION

$(CURLAUTH_SO): $(CURLAUTH_OBJ) $(REGISTRY_LIB) $(CORE_LIB) libcurl_auth/libazmi_curl.map
	$(CC) -shared -o $@ $(CURLAUTH_OBJ) $(REGISTRY_LIB) $(CORE_LIB) -Wl,-soname,libazmi_curl.so.$(SOVERSION) \
		-Wl,--version-script=libcurl_auth/libazmi_curl.map $(SO_NOUNDEF) $(LDFLAGS) $(DEP_LIBS) -ldl
	ln -sf libazmi_curl.so.$(SOVERSION) $(BUILD)/libazmi_curl.so

ALL_EXTRA += $(CURLAUTH_SO)

# Header dependencies: a changed private header (plugin_settings.h, hostrule.h) rebuilds every user.
-include $(CURLAUTH_OBJ:.o=.d)
INSTALL_EXTRA += install-curl

.PHONY: install-curl curl-test-programs
install-curl: $(CURLAUTH_SO)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(CURLAUTH_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libazmi_curl.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libazmi_curl.so
	install -m 0644 include/azmi_curl.h $(DESTDIR)$(INCLUDEDIR)/
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 0644 man/libazmi_curl.3 $(DESTDIR)$(MANDIR)/man3/

# Test programs: linked against the built plug-in (before libcurl, so its hooks interpose).
CURL_TEST_PROGS := $(BUILD)/tests/curl/capi $(BUILD)/tests/curl/threads
CURL_TESTLIB := tests/curl/testlib.c tests/curl/testlib.h
$(BUILD)/tests/curl/%: tests/curl/%.c $(CURL_TESTLIB) $(CURLAUTH_SO) include/azmi_curl.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< tests/curl/testlib.c -L$(BUILD) -l:libazmi_curl.so.$(SOVERSION) -Wl,-rpath,'$$ORIGIN/../..' \
		$(LDFLAGS) $(DEP_LIBS)
# A plain libcurl program (multi interface), run with the plug-in preloaded like any application.
CURL_PLAIN_PROGS := $(BUILD)/tests/curl/multi
$(BUILD)/tests/curl/multi: tests/curl/multi.c $(CURL_TESTLIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< tests/curl/testlib.c $(LDFLAGS) $(shell $(PKG_CONFIG) --libs libcurl)
curl-test-programs: $(CURLAUTH_SO) $(CURL_TEST_PROGS) $(CURL_PLAIN_PROGS)
test-programs: curl-test-programs

# libFuzzer targets (fuzz/build.mk builds them): the matcher, the challenge parser, the verbose filter.
FUZZ_EXTRA_SRC_fuzz_curl_hostrule     := libcurl_auth/hostrule.c
FUZZ_EXTRA_CFLAGS_fuzz_curl_hostrule  := -Ilibcurl_auth
FUZZ_EXTRA_SRC_fuzz_curl_challenge    := libcurl_auth/challenge.c
FUZZ_EXTRA_CFLAGS_fuzz_curl_challenge := -Ilibcurl_auth
FUZZ_EXTRA_SRC_fuzz_curl_mask        := libcurl_auth/verbose_mask.c
FUZZ_EXTRA_CFLAGS_fuzz_curl_mask     := -Ilibcurl_auth
