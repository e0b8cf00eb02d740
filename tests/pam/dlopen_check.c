/*
 * dlopen_check - load a shipped module the way its host does (RTLD_NOW, so
 * every symbol must resolve now) and look up the entry points it must have.
 *   dlopen_check MODULE.so SYMBOL...
 * Prints "ok"/"missing" per symbol; exit 0 when all load and resolve.
 * (Whether it exports anything else is checked with nm by the suite.)
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	void *h;
	int bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: dlopen_check MODULE.so SYMBOL...\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		printf("dlopen failed: %s\n", dlerror());
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		int found = dlsym(h, argv[i]) != NULL;
		printf("%s %s\n", found ? "ok" : "missing", argv[i]);
		bad += !found;
	}
	dlclose(h);
	return bad ? 1 : 0;
}
