# tests/build.mk - the unit test programs (included by the top Makefile).
#   make test-programs        every tests/unit/test_*.c into $(BUILD)/tests/test_*
#   make unit-test-programs   the same (and tests/rbac/rbac_probe), without the test programs other parts add
# Each program links the static libraries directly (private headers through their include paths)
# and cmocka.  Adding a test is adding a tests/unit/test_<name>.c file.
# tests/unit/*.c without the test_ prefix are helpers linked into every program.

ifndef AZMI_TESTS_BUILD_MK
AZMI_TESTS_BUILD_MK := 1

# The unit tests reach every library's private headers and link the internal archives.
TEST_INC     := $(CORE_INC) -Ilogin -Iregistry
TEST_LIBS    := $(LOGIN_LIB) $(REGISTRY_LIB) $(CORE_LIB)
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
UNIT_PROGS   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPERS := $(sort $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c)))
UNIT_HELPER_OBJ := $(UNIT_HELPERS:%.c=$(BUILD)/%.o)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(or $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null),-lcmocka)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -MMD -MP -c -o $@ $<

$(UNIT_HELPER_OBJ): $(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -MMD -MP -c -o $@ $<

# A test of code outside the core names its extra objects (and include paths) here.
UNIT_EXTRA_OBJ_test_serve_http := $(BUILD)/cli/serve_http.o
$(BUILD)/tests/test_serve_http.o: CFLAGS += -Icli

.SECONDEXPANSION:
$(UNIT_PROGS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(UNIT_HELPER_OBJ) $(TEST_LIBS) $$(UNIT_EXTRA_OBJ_$$*)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_EXTRA_OBJ_$*) $(UNIT_HELPER_OBJ) $(TEST_LIBS) $(LDFLAGS) $(DEP_LIBS) $(CMOCKA_LIBS)

# tests/rbac/rbac_probe: a driver of the core's login decision for tests/integration/test_rbac.py
# (built with the unit programs, so that the sanitizer build has it too).
RBAC_PROBE := $(BUILD)/tests/rbac_probe

$(BUILD)/tests/rbac/%.o: tests/rbac/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_INC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(RBAC_PROBE): $(BUILD)/tests/rbac/rbac_probe.o $(TEST_LIBS)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIBS) $(LDFLAGS) $(DEP_LIBS)

.PHONY: test-programs unit-test-programs
unit-test-programs: $(UNIT_PROGS) $(RBAC_PROBE)
test-programs: unit-test-programs

-include $(UNIT_PROGS:=.d) $(UNIT_HELPER_OBJ:.o=.d) $(BUILD)/tests/rbac/rbac_probe.d

endif
