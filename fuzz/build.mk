# fuzz/build.mk - libFuzzer targets (included by the top Makefile).
#   make fuzz-programs     every fuzz/fuzz_*.c into $(BUILD)/fuzz/fuzz_*
#   make fuzz              run each for FUZZ_SECONDS (default 30) over fuzz/corpus/<name>/
#   make fuzz FUZZ_TARGETS="fuzz_timefmt fuzz_jwt"   only some
# Targets are built with clang -fsanitize=fuzzer,address,undefined against the
# core, login and registry sources compiled with -fsanitize=fuzzer-no-link,address,undefined into
# $(BUILD)/fuzz/obj/.  A target needing more than the core names its extra
# sources, flags or libraries in variables of its own (set anywhere, before or
# after this file is read):
#   FUZZ_EXTRA_SRC_fuzz_curl_hostrule    := libcurl_auth/hostrule.c
#   FUZZ_EXTRA_CFLAGS_fuzz_curl_hostrule := -DSOMETHING
#   FUZZ_EXTRA_LIBS_fuzz_curl_hostrule   := -ldl
# New inputs found while fuzzing go to $(BUILD)/fuzz/corpus/<name>/ (the
# committed seeds stay untouched); crashes to $(BUILD)/fuzz/artifacts/.

ifndef AZMI_FUZZ_BUILD_MK
AZMI_FUZZ_BUILD_MK := 1

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 30
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -Iinclude -Icore -Icore/internal -I$(BUILD)/gen -Ilogin \
                 -Iregistry $(DEP_CFLAGS)
FUZZ_SRC      := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES    := $(FUZZ_SRC:fuzz/%.c=%)
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(LOGIN_SRC:%.c=$(FUZZ_DIR)/obj/%.o) \
                 $(REGISTRY_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_TARGETS  ?= $(FUZZ_NAMES)

# The extra objects of target $(1).
fuzz_extra_obj = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_EXTRA_SRC_$(1)))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OBJ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/core/config.o: $(BUILD)/gen/config_keys_all.def

# The curl plug-in's sources are compiled as its own build.mk does.
$(FUZZ_DIR)/obj/libcurl_auth/%.o: FUZZ_OBJ_CFLAGS += -DCURL_DISABLE_TYPECHECK -DCURL_DISABLE_DEPRECATION

# The request parser of `azmi serve` lives beside the command.
FUZZ_EXTRA_SRC_fuzz_serve_http    := cli/serve_http.c
FUZZ_EXTRA_CFLAGS_fuzz_serve_http := -Icli

# Extra sources are only known once every makefile is read: expand them late.
.SECONDEXPANSION:
$(FUZZ_BINS): $(FUZZ_DIR)/%: fuzz/%.c $(FUZZ_CORE_OBJ) $$(call fuzz_extra_obj,$$*)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA_CFLAGS_$*) -fsanitize=fuzzer $(FUZZ_SAN) -MMD -MP -o $@ $< \
		$(call fuzz_extra_obj,$*) $(FUZZ_CORE_OBJ) $(DEP_LIBS) $(FUZZ_EXTRA_LIBS_$*)

.PHONY: fuzz-programs fuzz
fuzz-programs: $(FUZZ_BINS)

# Runs each target for FUZZ_SECONDS; stops at the first target that finds a crash.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t; \
		seeds=; [ -d fuzz/corpus/$$t ] && seeds=fuzz/corpus/$$t; \
		dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
		echo "=== $$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $$dict $(FUZZ_DIR)/corpus/$$t $$seeds; \
	done

-include $(FUZZ_CORE_OBJ:.o=.d) $(FUZZ_BINS:=.d)

endif
