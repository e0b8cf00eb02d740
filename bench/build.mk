# bench/build.mk - `make bench`: azmi's figures beside the Azure SDKs' (bench/README.md).
# The top Makefile reaches this file twice (its */build.mk wildcard and its
# explicit include), hence the guard.
ifndef AZMI_BENCH_MK
AZMI_BENCH_MK := 1

BENCH_OUT  := $(BUILD)/bench
BENCH_BINS := $(BENCH_OUT)/bench_cached $(BENCH_OUT)/bench_spawn $(BENCH_OUT)/bench_serve \
              $(BENCH_OUT)/bench_fleet

$(BENCH_OUT)/bench_cached: bench/bench_cached.c include/azmi.h $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIBA) $(LDFLAGS) $(DEP_LIBS)

$(BENCH_OUT)/bench_spawn: bench/bench_spawn.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(BENCH_OUT)/bench_serve: bench/bench_serve.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

# The fleet simulation's worker: the real libpam (pam_wrapper preloaded at run time) and pam_azmi.so.
$(BENCH_OUT)/bench_fleet: bench/bench_fleet.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam

bench: all $(BENCH_BINS)
	@BUILD=$(BUILD) sh bench/run.sh
	@BUILD=$(BUILD) sh bench/ssh.sh
	@BUILD=$(BUILD) sh bench/fleet.sh

# SSH login figures only (bench/bench_ssh.py).
.PHONY: bench-ssh
bench-ssh: all
	@BUILD=$(BUILD) sh bench/ssh.sh

# The fleet simulation alone (bench/README.md, "Logins across a fleet").
bench-fleet: all $(BENCH_OUT)/bench_fleet
	@BUILD=$(BUILD) sh bench/fleet.sh

endif
