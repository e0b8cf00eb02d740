/*
 * nss_direct - call libnss_azmi.so.2's entry points directly with every
 * buffer size from 0 up, as glibc would when it grows its buffer:
 *   nss_direct MODULE passwd NAME | group NAME | uid UID | gid GID
 * Each size too small must give NSS_STATUS_TRYAGAIN with ERANGE and must not
 * write past the buffer (checked with a guard area); the first size that
 * fits must give the entry.  Prints "minimum N" and the entry (getent
 * format), or "notfound"; exit 0 when the ERANGE contract held.
 */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD  64
#define MAXBUF 8192

typedef enum nss_status pw_fn(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status pwuid_fn(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status gr_fn(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status grgid_fn(gid_t, struct group *, char *, size_t, int *);

static enum nss_status call(void *h, const char *kind, const char *arg, void *ent, char *buf, size_t len,
                            int *err)
{
	if (strcmp(kind, "passwd") == 0)
		return ((pw_fn *)dlsym(h, "_nss_azmi_getpwnam_r"))(arg, ent, buf, len, err);
	if (strcmp(kind, "uid") == 0)
		return ((pwuid_fn *)dlsym(h, "_nss_azmi_getpwuid_r"))((uid_t)strtoul(arg, NULL, 10), ent, buf,
		                                                      len, err);
	if (strcmp(kind, "group") == 0)
		return ((gr_fn *)dlsym(h, "_nss_azmi_getgrnam_r"))(arg, ent, buf, len, err);
	return ((grgid_fn *)dlsym(h, "_nss_azmi_getgrgid_r"))((gid_t)strtoul(arg, NULL, 10), ent, buf, len,
	                                                      err);
}

static void print(const char *kind, const void *ent)
{
	if (kind[0] == 'p' || kind[0] == 'u') {
		const struct passwd *pw = ent;
		printf("%s:%s:%u:%u:%s:%s:%s\n", pw->pw_name, pw->pw_passwd, (unsigned)pw->pw_uid,
		       (unsigned)pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
		return;
	}
	const struct group *gr = ent;
	printf("%s:%s:%u:", gr->gr_name, gr->gr_passwd, (unsigned)gr->gr_gid);
	for (char **m = gr->gr_mem; *m; m++)
		printf("%s%s", m == gr->gr_mem ? "" : ",", *m);
	printf("\n");
}

int main(int argc, char **argv)
{
	static char area[MAXBUF + GUARD];
	union {
		struct passwd pw;
		struct group gr;
	} ent;
	void *h;

	if (argc != 4) {
		fprintf(stderr, "usage: nss_direct MODULE passwd|group|uid|gid ARG\n");
		return 2;
	}
	if ((h = dlopen(argv[1], RTLD_NOW)) == NULL) {
		printf("dlopen: %s\n", dlerror());
		return 2;
	}
	for (size_t len = 0; len <= MAXBUF; len++) {
		int err = 0;
		enum nss_status s;
		memset(area, 0x5a, sizeof(area));
		s = call(h, argv[2], argv[3], &ent, area, len, &err);
		for (size_t i = len; i < len + GUARD; i++) {
			if ((unsigned char)area[i] != 0x5a) {
				printf("FAIL: wrote past a buffer of %zu bytes\n", len);
				return 1;
			}
		}
		if (s == NSS_STATUS_TRYAGAIN && err == ERANGE)
			continue;
		if (s == NSS_STATUS_NOTFOUND) {
			printf("notfound errno=%d\n", err);
			return len == 0 ? 0 : 1;
		}
		if (s != NSS_STATUS_SUCCESS) {
			printf("FAIL: status %d errno %d at %zu bytes\n", (int)s, err, len);
			return 1;
		}
		printf("minimum %zu\n", len);
		print(argv[2], &ent);
		return 0;
	}
	printf("FAIL: no buffer up to %d bytes was enough\n", MAXBUF);
	return 1;
}
