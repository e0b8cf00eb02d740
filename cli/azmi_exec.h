/*
 * azmi_exec.h - `azmi curl ARGS...` and `azmi exec -- CMD ARGS...`: run a
 * program with the curl plug-in preloaded.
 *
 * The plug-in is looked for, first hit wins:
 *   1. $AZMI_CURL_LIBRARY (an absolute path; an explicit choice, so a
 *      missing file there is an error rather than a fallback);
 *   2. beside the running azmi binary (/proc/self/exe): DIR/libazmi_curl.so.1
 *      (the build directory, where `make` puts both), then
 *      DIR/../lib/libazmi_curl.so.1 and DIR/../lib/<multiarch>/libazmi_curl.so.1
 *      (a relocated install tree);
 *   3. the path it was installed to ($(LIBDIR) at build time).
 * Beside-the-binary comes before the install path so a build tree or a
 * relocated tree always uses its own matching plug-in.
 */
#ifndef AZMI_EXEC_H
#define AZMI_EXEC_H

/*
 * Append the plug-in to LD_PRELOAD (keeping what was there)
 * and exec: `curl` found on PATH with argv[0..argc-1] as its arguments when
 * curl_mode, else argv[0] (searched on PATH) with argv[1..] as arguments.
 * Returns only on failure: 127 when the program or the plug-in cannot be
 * found, 126 when it cannot be run, 2 for a usage error; a line on stderr says why.
 */
int azmi_exec_main(int argc, char **argv, int curl_mode);

#endif
